import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { clientAddressKey } from "../platform/client-address";
import { cancelPendingOrderForUser } from "./cancel";
import { IdempotencyKey, limitCheckoutAttempts, startCheckout } from "./checkout";
import { requireUser } from "../accounts/session";
import { findOrderForUser, listOrdersForUser } from "./orders";

export const OrderSchema = z
  .object({
    id: z.string(),
    status: z.enum(["pending", "paid", "expired", "cancelled", "refunded"]),
    items: z.array(
      z.object({
        productId: z.string(),
        name: z.string(),
        quantity: z.number().int(),
        unitPriceCents: z.number().int(),
        lineTotalCents: z.number().int(),
      }),
    ),
    subtotalCents: z.number().int(),
    discountCents: z.number().int(),
    totalCents: z.number().int(),
    currency: z.string(),
    couponCode: z.string().nullable(),
    createdAt: z.string(),
    paidAt: z.string().nullable(),
    paymentProcessing: z
      .boolean()
      .openapi({ description: "A delayed payment (bank transfer…) is under way; the order settles by itself and cannot be cancelled." }),
    shipping: z
      .object({
        status: z.enum(["unfulfilled", "shipped", "delivered"]),
        carrier: z.string().nullable(),
        trackingNumber: z.string().nullable(),
        shippedAt: z.string().nullable(),
        deliveredAt: z.string().nullable(),
      })
      .openapi("OrderShipping", { description: "Where the goods are: unfulfilled → shipped (carrier, tracking number) → delivered." }),
  })
  .openapi("Order");

const signedIn = { 401: problemResponseSpec("Not signed in (`unauthenticated`)") };

const checkoutRoute = createRoute({
  method: "post",
  path: "/checkout",
  operationId: "startCheckout",
  ...access.signedIn,
  tags: ["Checkout"],
  summary: "Start paying for the cart",
  description:
    "Builds an order from a snapshot of the cart, its coupon and D1 prices, takes the stock and creates a payment session. " +
    "The same `Idempotency-Key` from the same user returns the same result while that order can still be paid; " +
    "a closed order's key answers 409 `checkout_closed` (or `payment_processing`), never its payment URL. " +
    "A total of 0 is a no-cost order (completed without payment); a total between 0 and the provider's minimum charge is refused.",
  request: { headers: z.object({ "idempotency-key": IdempotencyKey.optional() }) },
  responses: {
    201: {
      description: "Order created; send the shopper to checkoutUrl",
      content: {
        "application/json": { schema: z.object({ orderId: z.string(), checkoutUrl: z.string() }).openapi("CheckoutStarted") },
      },
    },
    ...signedIn,
    409: problemResponseSpec(
      "`cart_empty`, `checkout_in_progress`, `order_cancelled` (cancelled while its payment page was being made), `checkout_closed` or `payment_processing` (a replayed key)",
    ),
    422: problemResponseSpec("`out_of_stock`, `currency_mismatch`, `total_below_minimum` or a coupon code"),
    429: problemResponseSpec("`too_many_checkouts`: a burst of checkouts from one account (Retry-After)"),
    502: problemResponseSpec("The payment provider could not be reached (`payment_unavailable`)"),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/orders",
  operationId: "listMyOrders",
  ...access.signedIn,
  tags: ["Checkout"],
  summary: "The caller's own orders, newest first",
  responses: {
    200: { description: "Orders", content: { "application/json": { schema: z.object({ items: z.array(OrderSchema) }) } } },
    ...signedIn,
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/orders/{id}",
  operationId: "getMyOrder",
  ...access.signedIn,
  tags: ["Checkout"],
  summary: "One of the caller's orders",
  request: { params: z.object({ id: z.string().min(1).max(100) }) },
  responses: {
    200: { description: "The order", content: { "application/json": { schema: OrderSchema } } },
    ...signedIn,
    404: problemResponseSpec("No such order, or not yours"),
  },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/orders/{id}/cancel",
  operationId: "cancelMyOrder",
  ...access.signedIn,
  tags: ["Checkout"],
  summary: "Cancel one of the caller's unpaid orders (expires its payment session, gives back stock and coupon)",
  request: { params: z.object({ id: z.string().min(1).max(100) }) },
  responses: {
    200: { description: "The cancelled order", content: { "application/json": { schema: OrderSchema } } },
    ...signedIn,
    404: problemResponseSpec("No such order, or not yours"),
    409: problemResponseSpec("order_not_pending, order_already_paid (the shopper paid meanwhile) or payment_processing (a delayed payment is under way)"),
  },
});

/** Checkout and orders API (signed-in shoppers). The user always comes from the session (P12). */
export const checkoutApi = createApiApp()
  .openapi(checkoutRoute, async (c) => {
    const user = await requireUser(c);
    const key = c.req.valid("header")["idempotency-key"] ?? null;
    await limitCheckoutAttempts(c.env, user.id, clientAddressKey(c));
    return c.json(await startCheckout(c.env, c.var.config, user, key), 201);
  })
  .openapi(listRoute, async (c) => {
    const user = await requireUser(c);
    return c.json({ items: await listOrdersForUser(getDb(c.env.DB), user.id) }, 200);
  })
  .openapi(getRoute, async (c) => {
    const user = await requireUser(c);
    const order = await findOrderForUser(getDb(c.env.DB), user.id, c.req.valid("param").id);
    if (!order) throw new ProblemError(404, "order_not_found", "No such order.");
    return c.json(order, 200);
  })
  .openapi(cancelRoute, async (c) => {
    const user = await requireUser(c);
    const id = c.req.valid("param").id;
    await cancelPendingOrderForUser(c.env, c.var.config, user, id);
    const order = await findOrderForUser(getDb(c.env.DB), user.id, id);
    if (!order) throw new ProblemError(404, "order_not_found", "No such order.");
    return c.json(order, 200);
  });
