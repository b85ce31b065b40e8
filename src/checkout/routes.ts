import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { clientAddressKey } from "../platform/client-address";
import { cancelPendingOrderForUser } from "./cancel";
import { buyerOwnerId, limitCheckoutAttempts, resolveBuyer } from "./buyer";
import { startCheckout } from "./checkout";
import { IdempotencyKey } from "./replay";
import { requireUser } from "../accounts/session";
import { claimGuestOrders, findOrderByGuestKey, findOrderForUser, listOrdersForUser } from "./orders";

export const OrderSchema = z
  .object({
    id: z.string(),
    number: z.number().int().nullable().openapi({ description: "The short order number people use (`#1042`); `id` stays the key of every route." }),
    status: z.enum(["pending", "paid", "expired", "cancelled", "refunded"]),
    paymentState: z
      .enum(["pending", "paid", "partially_refunded", "refunded", "expired", "cancelled"])
      .openapi({ description: "`status`, except that a paid order with part of its payment refunded is `partially_refunded`." }),
    refundedCents: z.number().int().openapi({ description: "Refunded so far, as the payment provider's books say (minor units)." }),
    refunds: z
      .array(
        z.object({
          amountCents: z.number().int(),
          createdAt: z.string(),
          lines: z
            .array(z.object({ productId: z.string(), quantity: z.number().int() }))
            .openapi({ description: "The order lines this refund gave money back for; empty for an amount." }),
        }),
      )
      .openapi({ description: "Refunds made, oldest first." }),
    items: z.array(
      z.object({
        productId: z.string(),
        variantId: z.string(),
        name: z.string(),
        sku: z.string().nullable().openapi({ description: "The variant's SKU at checkout" }),
        options: z.record(z.string(), z.string()).openapi({ description: "The variant's option values at checkout", example: { Color: "Green", Size: "M" } }),
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
    shippingCents: z.number().int().openapi({ description: "The chosen rate's amount (0 when free or nothing ships); part of totalCents." }),
    shippingRate: z.string().nullable().openapi({ description: "The chosen shipping rate's name." }),
    promotion: z
      .object({ name: z.string(), discountCents: z.number().int() })
      .nullable()
      .optional()
      .openapi({ description: "The automatic promotion the order got (free shipping: what the rate would have cost), or null." }),
    discountPromotion: z
      .object({ name: z.string(), discountCents: z.number().int() })
      .nullable()
      .optional()
      .openapi({ description: "The automatic promotion that took money off the goods (decision 030): its amount is part of discountCents." }),
    taxCents: z.number().int().openapi({ description: "Tax as Stripe charged it (automatic tax); 0 before payment or without tax." }),
    shippingAddress: z
      .object({
        name: z.string().nullable(),
        line1: z.string().nullable(),
        line2: z.string().nullable(),
        city: z.string().nullable(),
        state: z.string().nullable(),
        postalCode: z.string().nullable(),
        country: z.string().nullable(),
      })
      .nullable()
      .openapi("ShippingAddress", { description: "Collected by the payment page; null before payment or when nothing ships." }),
    email: z.string().nullable().openapi({ description: "Where the receipt went." }),
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

/** What a checkout may say besides the cart: the shipping rate, and a guest's email. Prices never. */
const CheckoutRequest = z
  .object({
    shippingRateId: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .openapi({ description: "One of GET /api/shipping-rates; required when the shop has rates in the cart's currency." }),
    email: z.email().max(254).optional().openapi({ description: "Guests only (ignored when signed in): where the receipt and the order's link go." }),
  })
  .strict()
  .openapi("CheckoutRequest");

const checkoutRoute = createRoute({
  method: "post",
  path: "/checkout",
  operationId: "startCheckout",
  ...access.buyer,
  tags: ["Checkout"],
  summary: "Start paying for the cart (signed in, or as a guest with an email)",
  description:
    "A signed-in shopper pays for their account's cart; a guest pays for the cart of their cookie and gives `email` (receipts and the order's link go there; " +
    "the order joins an account only when that account signs in with the address verified). " +
    "When the shop has shipping rates in the cart's currency, `shippingRateId` is required; its amount comes from the shop's data, is added to the total and is checked again when the payment arrives. " +
    "Builds an order from a snapshot of the cart, its coupon and D1 prices, takes the stock and creates a payment session. " +
    "The same `Idempotency-Key` from the same user returns the same result while that order can still be paid; " +
    "a closed order's key answers 409 `checkout_closed` (or `payment_processing`), never its payment URL. " +
    "A total of 0 is a no-cost order (completed without payment); a total between 0 and the provider's minimum charge is refused.",
  request: {
    headers: z.object({ "idempotency-key": IdempotencyKey.optional() }),
    body: {
      required: false,
      content: { "application/json": { schema: CheckoutRequest } },
    },
  },
  responses: {
    201: {
      description: "Order created; send the shopper to checkoutUrl",
      content: {
        "application/json": {
          schema: z
            .object({
              orderId: z.string(),
              checkoutUrl: z.string(),
              orderUrl: z.string().optional().openapi({ description: "Guests only: the link that opens this order (also in the receipt). Keep it private." }),
            })
            .openapi("CheckoutStarted"),
        },
      },
    },
    401: problemResponseSpec("Neither signed in nor holding a guest cart (`unauthenticated`)"),
    409: problemResponseSpec(
      "`cart_empty`, `checkout_in_progress`, `order_cancelled` (cancelled while its payment page was being made), `checkout_closed` or `payment_processing` (a replayed key)",
    ),
    422: problemResponseSpec(
      "`out_of_stock`, `currency_mismatch`, `currency_not_accepted`, `total_below_minimum`, `total_above_maximum`, `amount_not_chargeable`, `currency_not_chargeable`, `shipping_rate_required`, `shipping_rate_invalid`, `email_required` (a guest), `validation_failed` or a coupon code (`coupon_needs_proof`: a once-per-customer promotion and no verified account or proven mailbox for this address)",
    ),
    429: problemResponseSpec(
      "`too_many_checkouts`: a burst of checkouts from one account; `too_many_held_units`: this mailbox, cart or network address already holds the most units open checkouts may hold (Retry-After)",
    ),
    502: problemResponseSpec("The payment provider could not be reached (`payment_unavailable`)"),
    503: problemResponseSpec("`promotion_unavailable`: the promotion's earlier uses are being carried to its current ledger (Retry-After)"),
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

const guestOrderRoute = createRoute({
  method: "get",
  path: "/guest-orders/{id}",
  operationId: "getGuestOrder",
  ...access.public,
  tags: ["Checkout"],
  summary: "A guest's order, opened by the key of its link",
  description:
    "The key is the `key` parameter of `orderUrl` (the guest's checkout answer) and of the links in the order's mails; it opens this order only, " +
    "for 30 days from the answer or mail that carried it, until staff revoke it or the order joins an account. " +
    "Send it in the `X-Order-Key` header: a header stays out of URLs, and so out of logs and histories. " +
    "The `key` query parameter is deprecated and kept for clients written against the first version of this operation. " +
    "A wrong, expired, revoked, non-canonical or missing key and an unknown id all answer the same 404.",
  request: {
    params: z.object({ id: z.string().min(1).max(100) }),
    headers: z.object({
      "x-order-key": z.string().min(1).max(100).optional().openapi({ description: "The order link's key (48 base64url characters)" }),
    }),
    query: z.object({
      key: z
        .string()
        .min(1)
        .max(100)
        .optional()
        .openapi({ param: { deprecated: true }, description: "Deprecated: send `X-Order-Key` instead" }),
    }),
  },
  responses: {
    200: { description: "The order", content: { "application/json": { schema: OrderSchema } } },
    404: problemResponseSpec("No such order, or the key does not open it (`order_not_found`)"),
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
    const body = c.req.valid("json") ?? {};
    const buyer = await resolveBuyer(c, body.email);
    const key = c.req.valid("header")["idempotency-key"] ?? null;
    await limitCheckoutAttempts(c.env, buyerOwnerId(c.env, buyer), clientAddressKey(c));
    return c.json(
      await startCheckout(c.env, c.var.config, buyer, {
        idempotencyKey: key,
        shippingRateId: body.shippingRateId ?? null,
        clientAddressKey: clientAddressKey(c),
      }),
      201,
    );
  })
  .openapi(listRoute, async (c) => {
    const user = await requireUser(c);
    const db = getDb(c.env.DB);
    await claimGuestOrders(c.env, db, user);
    return c.json({ items: await listOrdersForUser(db, user.id) }, 200);
  })
  .openapi(getRoute, async (c) => {
    const user = await requireUser(c);
    const db = getDb(c.env.DB);
    await claimGuestOrders(c.env, db, user);
    const order = await findOrderForUser(db, user.id, c.req.valid("param").id);
    if (!order) throw new ProblemError(404, "order_not_found", "No such order.");
    return c.json(order, 200);
  })
  .openapi(guestOrderRoute, async (c) => {
    const key = c.req.valid("header")["x-order-key"] ?? c.req.valid("query").key;
    const order = key ? await findOrderByGuestKey(c.env, getDb(c.env.DB), c.req.valid("param").id, { key }) : null;
    if (!order) throw new ProblemError(404, "order_not_found", "No such order.");
    c.header("cache-control", "private, no-store");
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
