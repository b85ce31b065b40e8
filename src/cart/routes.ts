import { createRoute, z } from "@hono/zod-openapi";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { COUPON_REFUSALS } from "../coupons/coupons";
import { MAX_QUANTITY } from "./line-rules";
import { promotedCart } from "./cart-promotions";
import { addToCart, applyCartCoupon, readCart, removeCartCoupon, removeFromCart, setCartQuantity } from "./operations";

// Bodies are plain (non-strict) objects: zod drops every key it does not know, so a
// `priceCents`, `unitPriceCents`, `totalCents` or `discountCents` sent by a client is ignored (P11, API.md).
// Quantities must be JSON integers 1–99: "2", 1.5, 0, -1, 1e9 and null are 422 (P13).
const Quantity = z.number().int().min(1).max(MAX_QUANTITY).openapi({ example: 1 });
const ProductId = z.string().min(1).max(100).openapi({ example: "prd_0123456789abcdef" });

const VariantId = z
  .string()
  .min(1)
  .max(100)
  .openapi({ example: "var_0123456789abcdef", description: "The variant to buy; required when the product has options" });
export const AddItemBody = z.object({ productId: ProductId, variantId: VariantId.optional(), quantity: Quantity }).openapi("CartAddItem");
export const SetQuantityBody = z.object({ quantity: Quantity }).openapi("CartSetQuantity");
export const ApplyCouponBody = z.object({ code: z.string().min(1).max(64).openapi({ example: "WELCOME10" }) }).openapi("CartApplyCoupon");
const ProductIdParam = z.object({
  productId: ProductId.openapi({
    param: { name: "productId", in: "path" },
    description: "The line's variant id, or its product's id when the cart holds one line of that product",
  }),
});

export const CartSchema = z
  .object({
    items: z.array(
      z.object({
        productId: z.string(),
        variantId: z.string(),
        slug: z.string(),
        name: z.string(),
        sku: z.string().nullable(),
        options: z
          .record(z.string(), z.string())
          .openapi({ description: "The variant's option values by option name", example: { Color: "Green", Size: "M" } }),
        quantity: z.number().int(),
        unitPriceCents: z.number().int(),
        lineTotalCents: z.number().int(),
        imageUrl: z.string().nullable().openapi({ description: "The product's image (a path on this shop), or null" }),
      }),
    ),
    coupon: z.object({ code: z.string(), discountCents: z.number().int() }).nullable(),
    subtotalCents: z.number().int(),
    discountCents: z.number().int(),
    totalCents: z.number().int(),
    currency: z.string().length(3),
    version: z.number().int().openapi({ description: "Goes up on every change of the cart" }),
    couponNotice: z
      .enum(COUPON_REFUSALS)
      .nullable()
      .openapi({ description: "Why the coupon the cart holds gives no discount now (null when it applies or there is none)" }),
    promotion: z.object({ name: z.string(), discountCents: z.number().int() }).nullable().optional().openapi({
      description:
        "The automatic discount (no code), already part of discountCents and totalCents; null: none applies. Absent from a change's answer (it keeps one round trip): GET /api/cart includes it.",
    }),
  })
  .openapi("Cart");

const json = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });
const cartResponse = { 200: { description: "The cart, priced from the catalog", content: json(CartSchema) } };

const getCartRoute = createRoute({
  method: "get",
  path: "/cart",
  operationId: "getCart",
  ...access.cart,
  tags: ["Cart"],
  summary: "The caller's cart (found from the session or guest cookie, never from the request)",
  responses: cartResponse,
});
const addItemRoute = createRoute({
  method: "post",
  path: "/cart/items",
  operationId: "addCartItem",
  ...access.cart,
  tags: ["Cart"],
  summary: "Add a product (adds to an existing line; a line holds at most 99)",
  request: { body: { content: json(AddItemBody), required: true } },
  responses: {
    ...cartResponse,
    404: problemResponseSpec("No visible product has this id (`product_not_found`), or it has no such variant (`variant_not_found`)"),
    409: problemResponseSpec("cart_full: 50 lines already"),
    422: problemResponseSpec("Invalid quantity, out_of_stock, currency_mismatch, or `variant_required` (the product has options: name the variant)"),
  },
});
const setQuantityRoute = createRoute({
  method: "put",
  path: "/cart/items/{productId}",
  operationId: "setCartItemQuantity",
  ...access.cart,
  tags: ["Cart"],
  summary: "Set a line's quantity",
  request: { params: ProductIdParam, body: { content: json(SetQuantityBody), required: true } },
  responses: {
    ...cartResponse,
    404: problemResponseSpec("cart_item_not_found"),
    422: problemResponseSpec("Invalid quantity, or `variant_required` (a product id with several lines: name the variant)"),
  },
});
const removeItemRoute = createRoute({
  method: "delete",
  path: "/cart/items/{productId}",
  operationId: "removeCartItem",
  ...access.cart,
  tags: ["Cart"],
  summary: "Remove a line",
  request: { params: ProductIdParam },
  responses: cartResponse,
});
const applyCouponRoute = createRoute({
  method: "put",
  path: "/cart/coupon",
  operationId: "applyCartCoupon",
  ...access.cart,
  tags: ["Cart"],
  summary: "Apply a coupon (one per cart: replaces the current one)",
  request: { body: { content: json(ApplyCouponBody), required: true } },
  responses: {
    ...cartResponse,
    422: problemResponseSpec(
      "coupon_invalid | coupon_expired | coupon_exhausted | coupon_already_used | coupon_needs_proof (a once-per-customer promotion: sign in with a verified address or prove the mailbox)",
    ),
    503: problemResponseSpec("`promotion_unavailable`: uses counted under an older layout are being carried (Retry-After)"),
    429: problemResponseSpec("`too_many_coupon_attempts` (Retry-After)"),
  },
});
const removeCouponRoute = createRoute({
  method: "delete",
  path: "/cart/coupon",
  operationId: "removeCartCoupon",
  ...access.cart,
  tags: ["Cart"],
  summary: "Remove the coupon",
  responses: cartResponse,
});

/** Cart API (API.md "Cart"): P11 prices from D1, P12 cart from the session, P13 quantities 1–99. */
export const cartApi = createApiApp()
  .openapi(getCartRoute, async (c) => c.json((await promotedCart(c, await readCart(c))).cart, 200))
  .openapi(addItemRoute, async (c) => c.json(await addToCart(c, c.req.valid("json")), 200))
  .openapi(setQuantityRoute, async (c) => {
    const { productId } = c.req.valid("param");
    return c.json(await setCartQuantity(c, productId, c.req.valid("json").quantity), 200);
  })
  .openapi(removeItemRoute, async (c) => c.json(await removeFromCart(c, c.req.valid("param").productId), 200))
  .openapi(applyCouponRoute, async (c) => c.json(await applyCartCoupon(c, c.req.valid("json").code), 200))
  .openapi(removeCouponRoute, async (c) => c.json(await removeCartCoupon(c), 200));
