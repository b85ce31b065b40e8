import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { cartStubForUser } from "../../src/cart/cart";
import { PINNED } from "../../src/coupons/coupon-object";
import { signUpAndSignIn } from "../support/accounts";
import { as } from "../support/admin";
import { lastAuditId } from "../support/audit";
import { ledger } from "../support/coupons";
import { ORIGIN, request } from "../support/http";
import { auditActionsFor, makeHeldOrder, orderRow, stockOf, type HeldOrder } from "../support/orders";
import { chargeRefundedEvent, deliverEvent, sessionEvent, stripeStub } from "../support/stripe";

// The lifecycle table of docs/decisions/013-order-lifecycle.md, one test per cell: an order in a
// state (built exactly as checkout and the earlier events leave it), one payment event or action
// over HTTP (a signed Stripe-format webhook, the shopper's cancel, the Cron Trigger's sweep, a
// staff refund), then the order's status, its three holds (stock, coupon reservation, cart lock)
// and the audit rows it caused — nothing more, nothing less.

type State = "pending" | "in_flight" | "paid" | "expired" | "cancelled" | "refunded";
type Event =
  | "completed:paid"
  | "completed:unpaid"
  | "completed:no_payment_required"
  | "async_payment_succeeded"
  | "async_payment_failed"
  | "expired"
  | "shopper cancel"
  | "sweep"
  | "sweep, session completed at the provider"
  | "charge.refunded"
  | "staff refund";
/** held: taken for the order; pinned: held with the coupon pinned (no clock); sold: kept for good; released: given back. */
type Holds = "held" | "pinned" | "sold" | "released";

interface Cell {
  state: State;
  event: Event;
  status: State;
  holds: Holds;
  audit: string[];
  http?: number;
  /** stray_payments rows expected (money for a closed order, kept for a refund). */
  afterClose?: number;
}

const EVENTS: Event[] = [
  "completed:paid",
  "completed:unpaid",
  "completed:no_payment_required",
  "async_payment_succeeded",
  "async_payment_failed",
  "expired",
  "shopper cancel",
  "sweep",
  "sweep, session completed at the provider",
  "charge.refunded",
  "staff refund",
];

/** The table: what each event does in each state (docs/decisions/013). */
function expected(state: State, event: Event): Omit<Cell, "state" | "event"> | null {
  const same = (holds: Holds, http?: number) => ({ status: state, holds, audit: [], ...(http ? { http } : {}) });
  const paid = { status: "paid" as const, holds: "sold" as const, audit: ["order.paid"] };
  switch (state) {
    case "pending":
      switch (event) {
        case "completed:paid":
        case "completed:no_payment_required":
        case "async_payment_succeeded":
          return paid;
        case "completed:unpaid":
          return { status: "in_flight", holds: "pinned", audit: ["order.payment_processing"] };
        case "async_payment_failed":
          return { status: "cancelled", holds: "released", audit: ["order.cancelled"] };
        case "expired":
        case "sweep":
          return { status: "expired", holds: "released", audit: ["order.expired"] };
        case "shopper cancel":
          return { status: "cancelled", holds: "released", audit: ["order.cancelled"], http: 200 };
        case "sweep, session completed at the provider":
          return { status: "in_flight", holds: "pinned", audit: ["order.payment_in_flight"] };
        case "charge.refunded":
          return same("held");
        case "staff refund":
          return same("held", 409);
      }
      break;
    case "in_flight":
      switch (event) {
        case "completed:paid":
        case "completed:no_payment_required":
        case "async_payment_succeeded":
          return paid;
        case "async_payment_failed":
          return { status: "cancelled", holds: "released", audit: ["order.cancelled"] };
        case "shopper cancel":
        case "staff refund":
          return same("pinned", 409);
        default:
          return same("pinned");
      }
    case "paid":
      // A refund the shop did not ask for (the Stripe Dashboard): recorded as such, then the order is refunded.
      if (event === "charge.refunded") return { status: "refunded", holds: "sold", audit: ["order.refunded_elsewhere", "order.refunded"] };
      if (event === "staff refund") return { status: "refunded", holds: "sold", audit: ["order.refund_requested", "order.refunded"], http: 202 };
      return same("sold", event === "shopper cancel" ? 409 : undefined);
    case "expired":
    case "cancelled":
      if (event === "completed:paid" || event === "async_payment_succeeded") return { ...same("released"), audit: ["payment.after_close"], afterClose: 1 };
      return same("released", event === "shopper cancel" || event === "staff refund" ? 409 : undefined);
    case "refunded":
      // A no-cost order has no charge to refund: that cell cannot happen.
      if (event === "completed:no_payment_required") return null;
      return same("sold", event === "shopper cancel" || event === "staff refund" ? 409 : undefined);
  }
  return null;
}

const FREE_EVENT: Event = "completed:no_payment_required";

function eventFor(
  h: HeldOrder,
  type: "checkout.session.completed" | "checkout.session.async_payment_succeeded" | "checkout.session.async_payment_failed" | "checkout.session.expired",
  paymentStatus: "paid" | "unpaid" | "no_payment_required",
) {
  return sessionEvent({
    type,
    sessionId: h.sessionId,
    orderId: h.order.id,
    amountTotal: h.order.totalCents,
    currency: "usd",
    paymentStatus,
    paymentIntentId: h.paymentIntentId,
  });
}

async function ok(res: Response): Promise<void> {
  expect(res.status, await res.clone().text()).toBe(200);
}

/** Brings a freshly held order into `state` the way the real events do. */
async function bringTo(h: HeldOrder, state: State, free: boolean): Promise<void> {
  if (state === "pending") return;
  if (state === "expired") return ok(await deliverEvent(eventFor(h, "checkout.session.expired", "unpaid")));
  if (state === "cancelled") return ok(await deliverEvent(eventFor(h, "checkout.session.async_payment_failed", "unpaid")));
  if (state === "in_flight") return ok(await deliverEvent(eventFor(h, "checkout.session.completed", "unpaid")));
  await ok(await deliverEvent(eventFor(h, "checkout.session.completed", free ? "no_payment_required" : "paid")));
  if (state === "refunded") await ok(await deliverEvent(chargeRefundedEvent({ paymentIntentId: h.paymentIntentId, amount: h.order.totalCents })));
}

/** Runs the Cron Trigger at `at` against a Stripe stand-in (the order's provider is Stripe there). */
async function sweep(at: number, completed: Set<string>): Promise<void> {
  const stub = stripeStub({ completed });
  vi.spyOn(globalThis, "fetch").mockImplementation(stub.handler);
  const stripeEnv = { ...env, PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_fake_for_vitest" } as Env;
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "*/5 * * * *" }), stripeEnv);
  vi.restoreAllMocks();
}

async function apply(h: HeldOrder, event: Event, owner: { cookie: string } | null): Promise<Response | null> {
  const later = Date.now() + 2 * 60 * 60 * 1000; // past expires_at + the sweeper's grace
  switch (event) {
    case "completed:paid":
      return deliverEvent(eventFor(h, "checkout.session.completed", "paid"));
    case "completed:unpaid":
      return deliverEvent(eventFor(h, "checkout.session.completed", "unpaid"));
    case "completed:no_payment_required":
      return deliverEvent(eventFor(h, "checkout.session.completed", "no_payment_required"));
    case "async_payment_succeeded":
      return deliverEvent(eventFor(h, "checkout.session.async_payment_succeeded", "paid"));
    case "async_payment_failed":
      return deliverEvent(eventFor(h, "checkout.session.async_payment_failed", "unpaid"));
    case "expired":
      return deliverEvent(eventFor(h, "checkout.session.expired", "unpaid"));
    case "shopper cancel":
      return request(`/api/orders/${h.order.id}/cancel`, { method: "POST", headers: { cookie: owner!.cookie, origin: ORIGIN } });
    case "sweep":
      await sweep(later, new Set());
      return null;
    case "sweep, session completed at the provider":
      await sweep(later, new Set([h.sessionId]));
      return null;
    case "charge.refunded":
      return deliverEvent(chargeRefundedEvent({ paymentIntentId: h.paymentIntentId, amount: h.order.totalCents }));
    case "staff refund":
      return request(`/api/admin/orders/${h.order.id}/refund`, { method: "POST", headers: { ...(await as("admin")), origin: ORIGIN } });
  }
}

async function expectHolds(h: HeldOrder, holds: Holds): Promise<void> {
  expect(await stockOf(h.productId)).toBe(holds === "released" ? 5 : 3);
  const snap = await ledger(h.couponCode).snapshot();
  const reservation = snap.reservations.find((r) => r.orderId === h.order.id);
  const redeemed = snap.redemptions.some((r) => r.orderId === h.order.id);
  if (holds === "held") expect(reservation && reservation.expiresAt < PINNED && !redeemed).toBe(true);
  if (holds === "pinned") expect(reservation?.expiresAt === PINNED && !redeemed).toBe(true);
  if (holds === "sold") expect(!reservation && redeemed).toBe(true);
  if (holds === "released") expect(!reservation && !redeemed).toBe(true);
  expect(snap.committed + snap.reserved).toBe(holds === "released" ? 0 : 1);
  const cart = await cartStubForUser(env, h.userId).getState();
  if (holds === "held" || holds === "pinned") expect(cart.state).toMatchObject({ status: "checking_out", orderId: h.order.id });
  else expect(cart.state.status).toBe("open");
  expect(cart.lines).toEqual(holds === "sold" ? [] : [{ productId: h.productId, variantId: `var_${h.productId}`, quantity: 2 }]);
}

afterEach(() => vi.restoreAllMocks());

const CELLS: Cell[] = (["pending", "in_flight", "paid", "expired", "cancelled", "refunded"] as State[]).flatMap((state) =>
  EVENTS.flatMap((event) => {
    const e = expected(state, event);
    return e ? [{ state, event, ...e }] : [];
  }),
);

describe("the order lifecycle table (docs/decisions/013): every state × every payment event", { timeout: 60_000 }, () => {
  for (const cell of CELLS) {
    it(`T08 lifecycle: ${cell.state} × ${cell.event} → ${cell.status}, holds ${cell.holds}`, async () => {
      const free = cell.event === FREE_EVENT;
      const owner = cell.event === "shopper cancel" ? await signUpAndSignIn() : null;
      const h = await makeHeldOrder({ free, userId: owner?.user.id, provider: cell.event.startsWith("sweep") ? "stripe" : "simulator" });
      await bringTo(h, cell.state, free);
      const before = await lastAuditId();
      const afterCloseBefore = await afterCloseRows(h.order.id);
      const res = await apply(h, cell.event, owner);
      if (res) expect(res.status, await res.clone().text()).toBe(cell.http ?? 200);
      const row = (await orderRow(h.order.id))!;
      expect({ status: row.status, inFlight: row.paymentInFlight }).toEqual(
        cell.status === "in_flight" ? { status: "pending", inFlight: true } : { status: cell.status, inFlight: false },
      );
      await expectHolds(h, cell.holds);
      expect(await auditActionsFor(h.order.id, before)).toEqual(cell.audit);
      expect((await afterCloseRows(h.order.id)) - afterCloseBefore).toBe(cell.afterClose ?? 0);
    });
  }
});

async function afterCloseRows(orderId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM stray_payments WHERE order_id = ?").bind(orderId).first<{ n: number }>();
  return row?.n ?? 0;
}
