import { Hono } from "hono";
import { accountPages } from "./accounts/pages";
import { signInFormPage } from "./accounts/sign-in-form";
import { accountQrApi } from "./accounts/totp-qr";
import { accountsApi } from "./accounts/routes";
import { SESSION_COOKIE } from "./accounts/auth";
import { CART_COOKIE } from "./cart/cart";
import { privacyApi } from "./accounts/privacy";
import { privacyPages } from "./accounts/privacy-pages";
import { adminPages } from "./admin/pages";
import { adminApi } from "./admin/routes";
import { cartPages } from "./cart/pages";
import { mailboxProofPages } from "./cart/mailbox-proof-pages";
import { mailboxProofApi } from "./cart/mailbox-routes";
import { cartPromotionsApi } from "./cart/cart-promotions";
import { cartApi } from "./cart/routes";
import { catalogApi } from "./catalog/routes";
import { checkoutPages } from "./checkout/pages";
import { checkoutApi } from "./checkout/routes";
import { returnPages } from "./returns/pages";
import { returnsApi } from "./returns/routes";
import { shippingRatesApi } from "./admin/shipping-rate-routes";
import { shippingPublicApi } from "./shipping/routes";
import { paymentsApi } from "./payments/routes";
import { runScheduledSweep } from "./payments/scheduled";
import { mailLowStockAlerts } from "./admin/low-stock";
import { handleMailBatch } from "./mail/delivery";
import { handleWebhookBatch, isWebhookQueue } from "./integrations/delivery";
import { relayShopEvents } from "./integrations/relay";
import { devPay } from "./payments/simulator";
import { devStripeDashboard } from "./payments/simulator-dashboard";
import { addApiDocs } from "./platform/docs";
import { createApiApp } from "./platform/openapi";
import type { AppEnv } from "./platform/app-env";
import { loadConfig } from "./platform/config";
import { renderError, renderNotFound } from "./platform/errors";
import { readiness, type ReadinessCheck } from "./platform/health";
import { auditReadiness } from "./audit/verify";
import { exposeRequestId, logEvent, requestIds } from "./platform/log";
import { problemResponse } from "./platform/problem";
import { shopperLocale } from "./platform/locale";
import { csrfOriginCheck, httpsOnly, jsonBodyGuardExcept, securityHeaders } from "./platform/security";
import { adminImagesApi, RAW_BODY_PATHS } from "./admin/images";
import { bulkShipApi } from "./admin/bulk-ship-routes";
import { fulfilmentApi } from "./admin/fulfilment-routes";
import { guestLinksApi } from "./admin/guest-link-routes";
import { webhookEndpointsApi } from "./admin/webhook-endpoint-routes";
import { devWebhookReceiverApi } from "./integrations/dev-receiver";
import { staticAssets } from "./web/assets";
import { storefront } from "./web/routes";
import { settingsApi } from "./admin/settings-routes";
import { shopSettingsForPages } from "./settings/page-settings";

export { CartObject } from "./cart/cart-object";
export { CouponObject } from "./coupons/coupon-object";
export { LoginGuard } from "./accounts/login-guard";
export { AuditLog } from "./audit/audit-log";
export { StockGate } from "./stock-gate/gate-object";

const app = new Hono<AppEnv>();

// Liveness probe (the isolate runs) and the benchmarks' hello-world baseline: before any middleware.
app.get("/healthz", (c) => c.text("ok"));

app.use(requestIds);
app.use(securityHeaders);
app.use(shopperLocale);
app.use(async (c, next) => {
  await next();
  exposeRequestId(c);
});
// Readiness: the config check below and a D1 ping (503 `misconfigured` when either fails), then
// the audit chain from its newest checkpoint (503 `audit_chain_broken`, naming the problem's code).
const auditChainCheck: ReadinessCheck = {
  name: "audit",
  async run(env) {
    const verdict = await auditReadiness(env);
    return verdict.ok
      ? null
      : { code: "audit_chain_broken", detail: `The audit chain does not verify at event ${verdict.brokenAt} (${verdict.code}); see docs/operations.md.` };
  },
};
app.get("/readyz", (c) => readiness(c, [auditChainCheck]));
// Config gate: a production worker with an unsafe setting answers 503 to everything (P17, T02).
app.use(async (c, next) => {
  const result = loadConfig(c.env);
  if (!result.ok) {
    logEvent(c, "error", "misconfigured", { problems: result.problems });
    return problemResponse(503, "misconfigured", "The shop is not configured safely and is refusing requests.");
  }
  c.set("config", result.config);
  return next();
});
app.use(httpsOnly);
app.use(csrfOriginCheck);
// Every page renders with the shop's settings (name, logo, colours, footer: decision 024).
app.use(shopSettingsForPages);
app.use("/api/*", jsonBodyGuardExcept(RAW_BODY_PATHS));

// The JSON API: each domain's OpenAPI sub-app, merged so /api/openapi.json describes them all.
const api = createApiApp().route("/", catalogApi);
api.route("/", accountsApi);
api.route("/", accountQrApi);
api.route("/", privacyApi);
api.route("/", adminApi);
api.route("/", adminImagesApi);
api.route("/", bulkShipApi);
api.route("/", fulfilmentApi);
api.route("/", guestLinksApi);
api.route("/", shippingRatesApi);
api.route("/", webhookEndpointsApi);
api.route("/", devWebhookReceiverApi);
api.route("/", shippingPublicApi);
api.route("/", settingsApi);
api.route("/", cartApi);
api.route("/", mailboxProofApi);
api.route("/", cartPromotionsApi);
api.route("/", checkoutApi);
api.route("/", returnsApi);
api.route("/", paymentsApi);
addApiDocs(api, { session: SESSION_COOKIE, cart: CART_COOKIE });
app.route("/api", api);
app.route("/", accountPages);
app.route("/", signInFormPage);
app.route("/", privacyPages);
app.route("/", adminPages);
app.route("/", cartPages);
app.route("/", mailboxProofPages);
app.route("/", checkoutPages);
app.route("/", returnPages);
app.route("/", devPay);
app.route("/", devStripeDashboard);
app.route("/", storefront);
app.route("/", staticAssets);

app.notFound(renderNotFound);
app.onError(renderError);

/**
 * The worker: the app's fetch, the Cron Trigger's order sweeper (docs/decisions/013) and webhook
 * relay (decision 023), and the consumers of the mail and webhook queues.
 */
export default Object.assign(app, {
  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    await runScheduledSweep(controller, env);
    // Staff hear of variants that crossed their low-stock threshold (decision 025).
    await mailLowStockAlerts(env).catch((error: unknown) =>
      console.error(JSON.stringify({ level: "error", msg: "low_stock_mail_failed", error: String(error) })),
    );
    // Events whose relay right after their change failed: the outbox keeps them until now.
    await relayShopEvents(env).catch((error) => console.error(JSON.stringify({ level: "error", msg: "webhook_relay_failed", error: String(error) })));
  },
  async queue(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
    if (isWebhookQueue(batch.queue)) return handleWebhookBatch(batch, env);
    await handleMailBatch(batch, env);
  },
});
