import { optionsLabel, parseOptionValues } from "../catalog/variants";
import { shopSettingsFor } from "../settings/shop-settings";
import { eq, inArray } from "drizzle-orm";
import { user } from "../accounts/schema";
import { getDb, type Database } from "../db/client";
import type { DisputeState } from "../payments/payment-state";
import { enqueueMailSafely } from "../mail/mail";
import { loadConfig } from "../platform/config";
import { formatMoney, orderNumberLabel } from "../web/format";
import { GUEST_LINK_LIFETIME_MS, guestOrderPath, isGuestOwner } from "./guest-access";
import { addressLines, parseShippingAddress } from "./orders";
import { orderLines, type OrderRow } from "./schema";

/** What a mail about an order says about its link: where it leads and, for a guest's, until when it works. */
export interface OrderRecipient {
  to: string;
  orderUrl: string;
  /** A guest's link expires (guest-access.ts): the mail says when, and what to do after. */
  linkNote: string | null;
}

/**
 * Where an order's mail goes and the link it carries, or null (account erased): an account's
 * current address and its order page; a guest's address and a fresh keyed link (guest-access.ts),
 * valid for GUEST_LINK_LIFETIME_MS from this mail.
 */
export async function orderRecipient(env: Env, order: OrderRow, now = Date.now()): Promise<OrderRecipient | null> {
  const loaded = loadConfig(env);
  if (!loaded.ok) return null;
  const origin = loaded.config.PUBLIC_ORIGIN;
  if (isGuestOwner(order.userId)) {
    const path = await guestOrderPath(env, order, now);
    if (!order.customerEmail || !path) return null;
    const until = new Date(now + GUEST_LINK_LIFETIME_MS).toISOString().slice(0, 10);
    const linkNote = `This link opens your order until ${until}; keep it private. After that, sign up with ${order.customerEmail} to see your orders in your account.`;
    return { to: order.customerEmail, orderUrl: `${origin}${path}`, linkNote };
  }
  const [row] = await getDb(env.DB).select({ email: user.email }).from(user).where(eq(user.id, order.userId)).limit(1);
  return row ? { to: row.email, orderUrl: `${origin}/orders/${encodeURIComponent(order.id)}`, linkNote: null } : null;
}

/** The address block of a receipt, or nothing when the order ships nowhere. */
function addressBlock(order: OrderRow): string[] {
  const a = parseShippingAddress(order.shippingAddress);
  return a ? ["Shipping to:", ...addressLines(a)] : [];
}

/**
 * The order confirmation (receipt), queued once per order: its key makes a webhook retry or a
 * redelivered message send nothing more. Lines and totals are the order's own, as charged.
 */
export async function queueOrderConfirmation(env: Env, order: OrderRow): Promise<void> {
  const to = await orderRecipient(env, order);
  if (!to) return;
  const lines = await getDb(env.DB).select().from(orderLines).where(eq(orderLines.orderId, order.id));
  const money = (cents: number) => formatMoney(cents, order.currency);
  const { shopName } = await shopSettingsFor(env.DB);
  const text = [
    "Thank you for your order. We have received your payment.",
    [
      `Order ${orderNumberLabel(order)}`,
      ...lines.map((l) => `${l.quantity} × ${lineTitle(l)}: ${money(l.unitPriceCents * l.quantity)}`),
      `Subtotal: ${money(order.subtotalCents)}`,
      ...(order.discountCents - order.discountPromotionCents > 0
        ? [`Discount${order.couponCode ? ` (${order.couponCode})` : ""}: −${money(order.discountCents - order.discountPromotionCents)}`]
        : []),
      ...(order.discountPromotionName ? [`Promotion (${order.discountPromotionName}): −${money(order.discountPromotionCents)}`] : []),
      ...(order.promotionName ? [`Promotion (${order.promotionName}): free shipping`] : []),
      ...(order.shippingRateName ? [`Shipping (${order.shippingRateName}): ${order.shippingCents === 0 ? "free" : money(order.shippingCents)}`] : []),
      ...(order.taxCents > 0 ? [`Tax: ${money(order.taxCents)}`] : []),
      `Total paid: ${money(order.totalCents)}`,
    ].join("\n"),
    ...(order.shippingAddress ? [addressBlock(order).join("\n")] : []),
    `Your order: ${to.orderUrl}`,
    ...(to.linkNote ? [to.linkNote] : []),
    `Questions? Reply to this mail. — ${shopName}`,
  ].join("\n\n");
  await enqueueMailSafely(env, { to: to.to, subject: `Your ${shopName} order ${orderNumberLabel(order)}`, text, key: `order.paid:${order.id}` });
}

/** The refund notice, queued once per refund event (its key is the Stripe event). */
export async function queueRefundNotice(env: Env, order: OrderRow, input: { amountRefundedCents: number; full: boolean; eventId: string }): Promise<void> {
  const to = await orderRecipient(env, order);
  if (!to) return;
  const money = (cents: number) => formatMoney(cents, order.currency);
  const { shopName } = await shopSettingsFor(env.DB);
  const text = [
    input.full
      ? `We have refunded your order ${orderNumberLabel(order)} in full: ${money(input.amountRefundedCents)}.`
      : `We have refunded ${money(input.amountRefundedCents)} of your order ${orderNumberLabel(order)} so far (you paid ${money(order.totalCents)}).`,
    "Your bank shows the money back in 5 to 10 business days.",
    `Your order: ${to.orderUrl}`,
    ...(to.linkNote ? [to.linkNote] : []),
    `— ${shopName}`,
  ].join("\n\n");
  await enqueueMailSafely(env, {
    to: to.to,
    subject: `Refund for your ${shopName} order ${orderNumberLabel(order)}`,
    text,
    key: `order.refund:${input.eventId}`,
  });
}

/** Staff hear of a new dispute at once: evidence has a deadline. One mail per dispute and staff member. */
export async function queueDisputeNotice(env: Env, db: Database, order: OrderRow, dispute: DisputeState): Promise<void> {
  const staff = await db
    .select({ email: user.email })
    .from(user)
    .where(inArray(user.role, ["admin", "support"]));
  const { shopName } = await shopSettingsFor(env.DB);
  const due = dispute.evidenceDueBy ? new Date(dispute.evidenceDueBy * 1000).toISOString().slice(0, 10) : "see the Stripe Dashboard";
  const text = [
    `The payment of order ${orderNumberLabel(order)} is disputed: ${formatMoney(dispute.amount, dispute.currency.toUpperCase())}, reason "${dispute.reason}".`,
    `Evidence is due by ${due}. Shipping is blocked while the dispute is open.`,
    "Answer it in the Stripe Dashboard; the order page shows its status.",
  ].join("\n\n");
  for (const { email } of staff) {
    await enqueueMailSafely(env, {
      to: email,
      subject: `${shopName}: dispute on order ${orderNumberLabel(order)}`,
      text,
      key: `dispute:${dispute.id}:${email}`,
    });
  }
}

/** A receipt line's title: the name, the variant's option values and SKU as frozen at checkout. */
function lineTitle(line: { name: string; sku: string | null; optionValues: string }): string {
  const options = optionsLabel(parseOptionValues(line.optionValues));
  return `${line.name}${options ? ` (${options})` : ""}${line.sku ? ` [SKU ${line.sku}]` : ""}`;
}
