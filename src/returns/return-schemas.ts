import { z } from "@hono/zod-openapi";
import { RETURN_STATUSES } from "./schema";

/** A return as the shopper and staff APIs answer it. */
export const ReturnSchema = z
  .object({
    id: z.string(),
    orderId: z.string(),
    status: z.enum(RETURN_STATUSES).openapi({ description: "requested → approved | refused; approved → received → refunded" }),
    reason: z.string().openapi({ description: "The shopper's words" }),
    refusalReason: z.string().nullable(),
    lines: z.array(
      z.object({
        productId: z.string(),
        variantId: z.string(),
        name: z.string(),
        options: z.record(z.string(), z.string()),
        quantity: z.number().int(),
        restock: z.boolean().openapi({ description: "Staff's choice when the goods arrive: back on the shelf with the refund" }),
      }),
    ),
    refundCents: z.number().int().nullable().openapi({ description: "What the return's refund gave back, minor units of the order's currency" }),
    createdAt: z.string(),
    decidedAt: z.string().nullable(),
    receivedAt: z.string().nullable(),
    refundedAt: z.string().nullable(),
  })
  .openapi("Return");

export const ReturnabilitySchema = z
  .object({
    refusal: z
      .enum(["not_paid", "not_delivered", "returns_disabled", "window_closed", "return_open", "nothing_left"])
      .nullable()
      .openapi({ description: "Why no return can be asked for now, or null" }),
    closesAt: z.string().nullable().openapi({ description: "The last moment to ask (delivery plus the shop's return window), ISO 8601" }),
    lines: z.array(
      z.object({
        productId: z.string(),
        variantId: z.string(),
        name: z.string(),
        options: z.record(z.string(), z.string()),
        bought: z.number().int(),
        returnable: z.number().int().openapi({ description: "Bought less refunded" }),
      }),
    ),
  })
  .openapi("Returnability");
