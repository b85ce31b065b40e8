import { Hono } from "hono";
import { afterCatalogWrite } from "../catalog/page-cache";
import type { AppEnv } from "../platform/app-env";
import { auditPages } from "./audit-pages";
import { couponPages } from "./coupon-pages";
import { fulfilmentPages } from "./fulfilment-pages";
import { staffGuard, staffUser } from "./guard";
import { imagePages } from "./image-pages";
import { orderPages } from "./order-pages";
import { productPages } from "./product-pages";
import { settingsPages } from "./settings-pages";
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
adminPages.use("/admin/products", afterCatalogWrite);
adminPages.use("/admin/products/*", afterCatalogWrite);
adminPages.route("/", couponPages);
adminPages.route("/", orderPages);
adminPages.route("/", strayPaymentPages);
adminPages.route("/", userPages);
adminPages.route("/", imagePages);
adminPages.route("/", fulfilmentPages);
adminPages.route("/", shippingRatePages);
adminPages.route("/", settingsPages);
adminPages.get("/admin", (c) => c.redirect(staffUser(c).role === "support" ? "/admin/orders" : "/admin/products", 303));
adminPages.route("/", productPages);
adminPages.route("/", auditPages);
