import { optionsLabel } from "../catalog/variants";
import { orderRecipient } from "../checkout/order-mail";
import type { OrderRow } from "../checkout/schema";
import type { Database } from "../db/client";
import { enqueueMailSafely } from "../mail/mail";
import { readShopSettings } from "../settings/shop-settings";
import { formatMoney, orderNumberLabel } from "../web/format";
import type { ReturnView } from "./types";

/**
 * The shopper hears of every step of a return (issue 32): asked, approved (with what to do next),
 * refused (with staff's reason), received, refunded. One mail per return and step: the key makes a
 * retried step send nothing more. Signed with the shop's name from its settings (decision 024);
 * read through the cached function, as API requests have no page settings.
 */
export async function queueReturnMail(env: Env, db: Database, order: OrderRow, ret: ReturnView): Promise<void> {
  const to = await orderRecipient(env, order);
  if (!to) return;
  const shop = await readShopSettings(db.$client);
  const label = orderNumberLabel(order);
  const items = ret.lines
    .map((l) => {
      const options = optionsLabel(l.options);
      return `${l.quantity} × ${l.name}${options ? ` (${options})` : ""}`;
    })
    .join("\n");
  const words: Record<ReturnView["status"], { subject: string; text: string }> = {
    requested: {
      subject: `We received your return request for order ${label}`,
      text: `We received your request to return these items of order ${label}:\n${items}\n\nWe will tell you by mail when we have looked at it. Please do not send anything yet.`,
    },
    approved: {
      subject: `Your return for order ${label} is approved`,
      text: `Your return of these items of order ${label} is approved:\n${items}\n\nPlease send them back to us${shop.contactAddress ? ` at:\n${shop.contactAddress}` : ""}. We refund them once they arrive.`,
    },
    refused: {
      subject: `Your return for order ${label} was declined`,
      text: `We cannot take back these items of order ${label}:\n${items}\n\nOur reason: ${ret.refusalReason ?? "not given"}${shop.contactEmail ? `\n\nQuestions? Write to ${shop.contactEmail}.` : ""}`,
    },
    received: {
      subject: `We received your returned items for order ${label}`,
      text: `Your returned items of order ${label} arrived:\n${items}\n\nYour refund follows shortly.`,
    },
    refunded: {
      subject: `Your return for order ${label} is refunded`,
      text: `We refunded ${formatMoney(ret.refundCents ?? 0, order.currency)} for the items you returned from order ${label}:\n${items}\n\nYour bank shows the money back in 5 to 10 business days.`,
    },
  };
  const mail = words[ret.status];
  const text = [mail.text, `Your order: ${to.orderUrl}`, ...(to.linkNote ? [to.linkNote] : []), `— ${shop.shopName}`].join("\n\n");
  await enqueueMailSafely(env, { to: to.to, subject: `${shop.shopName}: ${mail.subject}`.slice(0, 200), text, key: `return.${ret.status}:${ret.id}` });
}
