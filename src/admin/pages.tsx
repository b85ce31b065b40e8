import { Hono } from "hono";
import { afterCatalogWrite } from "../catalog/page-cache";
import type { AppEnv } from "../platform/app-env";
import { auditPages } from "./audit-pages";
import { couponPages } from "./coupon-pages";
import { promotionPages } from "./promotion-pages";
import { fulfilmentPages } from "./fulfilment-pages";
import { staffTimeZone } from "../web/dates";
import { dashboardPages } from "./dashboard-pages";
import { deskPages } from "./desk-pages";
import { staffGuard } from "./guard";
import { imagePages } from "./image-pages";
import { orderListPages } from "./order-list-pages";
import { integrationPages } from "./integration-pages";
import { orderPages } from "./order-pages";
import { productImportPages } from "./product-import-pages";
import { productPages } from "./product-pages";
import { refundPages } from "./refund-pages";
import { returnPages } from "./return-pages";
import { settingsPages } from "./settings-pages";
import { variantPages } from "./variant-pages";
import { shippingRatePages } from "./shipping-rate-pages";
import { strayPaymentPages } from "./stray-payment-pages";
import { userPages } from "./user-pages";

/**
 * Staff pages (server-rendered, no script): the same guard and the same audited functions as the API.
 * Each page module is named by what it manages; all are mounted after the guard (registered first).
 */
export const adminPages = new Hono<AppEnv>();
adminPages.use("/admin", staffGuard);
adminPages.use("/admin/*", staffGuard);
adminPages.use("/admin", staffTimeZone);
adminPages.use("/admin/*", staffTimeZone);
adminPages.use("/admin/products", afterCatalogWrite);
adminPages.use("/admin/products/*", afterCatalogWrite);
adminPages.use("/admin/product-imports/*", afterCatalogWrite);
adminPages.route("/", couponPages);
adminPages.route("/", promotionPages);
// The desk's fixed paths under /admin/orders come before the order page's /admin/orders/:id.
adminPages.route("/", dashboardPages);
adminPages.route("/", orderListPages);
adminPages.route("/", deskPages);
adminPages.route("/", refundPages);
adminPages.route("/", returnPages);
adminPages.route("/", productImportPages);
adminPages.route("/", orderPages);
adminPages.route("/", strayPaymentPages);
adminPages.route("/", userPages);
adminPages.route("/", imagePages);
adminPages.route("/", fulfilmentPages);
adminPages.route("/", shippingRatePages);
adminPages.route("/", integrationPages);
adminPages.route("/", settingsPages);
adminPages.route("/", productPages);
adminPages.route("/", variantPages);
adminPages.route("/", auditPages);
