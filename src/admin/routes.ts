import { afterCatalogWrite } from "../catalog/page-cache";
import { createApiApp } from "../platform/openapi";
import { auditApi } from "./audit-routes";
import { couponApi } from "./coupon-routes";
import { describeStaffAccess, staffGuard } from "./guard";
import { orderApi } from "./order-routes";
import { productImportApi } from "./product-import-routes";
import { productApi } from "./product-routes";
import { promotionApi } from "./promotion-routes";
import { promotionUsageApi } from "./promotion-usage";
import { refundApi } from "./refund-routes";
import { returnApi } from "./return-routes";
import { variantApi } from "./variant-routes";
import { stockGateApi } from "./stock-gate-routes";
import { strayPaymentApi } from "./stray-payment-routes";
import { userApi } from "./user-routes";

/**
 * Staff API (P16): one guard for every /api/admin route, strict bodies, an audit event per change.
 * Each sub-app is named by what it manages; they are mounted after the guard, in the order the
 * OpenAPI document lists them.
 */
export const adminApi = createApiApp();
adminApi.use("/admin/*", staffGuard);
adminApi.use("/admin", staffGuard);
adminApi.use("/admin/products", afterCatalogWrite);
adminApi.use("/admin/products/*", afterCatalogWrite);
adminApi.use("/admin/product-imports", afterCatalogWrite);
adminApi.route("/", productApi);
adminApi.route("/", variantApi);
adminApi.route("/", productImportApi);
adminApi.route("/", auditApi);
adminApi.route("/", couponApi);
adminApi.route("/", promotionUsageApi);
adminApi.route("/", promotionApi);
adminApi.route("/", orderApi);
adminApi.route("/", refundApi);
adminApi.route("/", returnApi);
adminApi.route("/", strayPaymentApi);
adminApi.route("/", stockGateApi);
adminApi.route("/", userApi);

describeStaffAccess(adminApi);
