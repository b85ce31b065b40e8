import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { orders, processedWebhookEvents } from "../../src/checkout/schema";
import { unique } from "../support/factories";

describe("checkout schema", () => {
  it("T06 replay guard: a second insert of one webhook event id fails the whole batch", async () => {
    const db = getDb(env.DB);
    const orderId = unique("ord");
    await db.insert(orders).values({
      id: orderId,
      userId: unique("u"),
      currency: "USD",
      subtotalCents: 1000,
      totalCents: 1000,
      provider: "simulator",
    });
    const eventId = unique("evt");
    const markPaid = () =>
      [
        db.insert(processedWebhookEvents).values({ eventId, type: "checkout.session.completed", orderId }),
        db.update(orders).set({ status: "paid" }).where(eq(orders.id, orderId)),
      ] as const;
    await db.batch(markPaid());
    await db.update(orders).set({ status: "refunded" }).where(eq(orders.id, orderId));
    await expect(db.batch(markPaid())).rejects.toThrow();
    const [row] = await db.select().from(orders).where(eq(orders.id, orderId));
    expect(row?.status).toBe("refunded");
  });
});
