import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import type { Order } from "../checkout/orders";
import { AddressBlock } from "../checkout/order-views";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { markDelivered, markShipped } from "../shipping/fulfilment";
import { formatMoney } from "../web/format";
import { clientIp, staffUser } from "./guard";
import { ShipmentBody } from "./fulfilment-routes";
import { z } from "zod";
import { isOpenDispute } from "../payments/payment-state";

const MESSAGES: Record<string, string> = {
  order_not_shippable: "This order cannot be shipped: only a paid order that has not shipped can.",
  order_not_deliverable: "Only a shipped order can be marked delivered.",
  invalid_shipment: "Give the carrier and the tracking number (letters, digits, spaces and . , ' & ( ) / # + -).",
  order_disputed: "The payment is disputed: shipping waits until the dispute closes, or give a reason to ship anyway.",
};

/** The form's fields: an empty override reason is no reason (the API's schema refuses an empty one). */
const ShipmentForm = ShipmentBody.extend({
  disputeOverrideReason: z
    .string()
    .trim()
    .max(300)
    .optional()
    .transform((v) => v || undefined),
});

/** The staff order page's shipping section: its state, and the next step for an admin. */
export function ShippingSection(props: { order: Order & { disputeStatus?: string | null }; canShip: boolean; error?: string | undefined }) {
  const { order, canShip } = props;
  const s = order.shipping;
  const base = `/admin/orders/${encodeURIComponent(order.id)}`;
  return (
    <section class="stack" aria-labelledby="shipping-title">
      <h2 id="shipping-title">Shipping</h2>
      {props.error ? (
        <p class="form-message error" role="alert">
          {MESSAGES[props.error] ?? "That did not work."}
        </p>
      ) : null}
      {order.shippingRate ? (
        <p>
          Rate: {order.shippingRate} ({order.shippingCents === 0 ? "free" : formatMoney(order.shippingCents, order.currency)})
          {order.taxCents > 0 ? `; tax ${formatMoney(order.taxCents, order.currency)}` : ""}
        </p>
      ) : null}
      {order.shippingAddress ? (
        <AddressBlock address={order.shippingAddress} data-ship-to />
      ) : order.shippingRate ? (
        <p>No address yet (it arrives with the payment).</p>
      ) : null}
      <p data-fulfilment={s.status}>
        {s.status === "unfulfilled" ? "Not shipped yet." : `Shipped ${s.shippedAt ?? ""} by ${s.carrier ?? "?"}, tracking ${s.trackingNumber ?? "?"}.`}
        {s.status === "delivered" ? ` Delivered ${s.deliveredAt ?? ""}.` : null}
      </p>
      {canShip && order.status === "paid" && s.status === "unfulfilled" ? (
        <form class="stack" method="post" action={`${base}/ship`}>
          <label>
            Carrier <input name="carrier" required maxlength={60} autocomplete="off" />
          </label>
          <label>
            Tracking number <input name="trackingNumber" required maxlength={100} autocomplete="off" />
          </label>
          {isOpenDispute(order.disputeStatus) ? (
            <div class="notice" role="alert" data-dispute-blocks-shipping>
              <p>The payment is disputed: shipping waits until the dispute closes.</p>
              <label>
                To ship anyway, say why (recorded in the audit log) <input name="disputeOverrideReason" maxlength={300} autocomplete="off" />
              </label>
            </div>
          ) : null}
          <button type="submit">Mark shipped and tell the customer</button>
        </form>
      ) : null}
      {canShip && s.status === "shipped" ? (
        <form method="post" action={`${base}/deliver`}>
          <button type="submit">Mark delivered</button>
        </form>
      ) : null}
    </section>
  );
}

const back = (id: string, error?: string) => `/admin/orders/${encodeURIComponent(id)}${error ? `?shipping_error=${error}` : ""}`;

/** The no-script forms of the shipping section (same functions, same audit, as the API). */
export const fulfilmentPages = new Hono<AppEnv>()
  .post(
    "/admin/orders/:id/ship",
    zValidator("form", ShipmentForm, (result, c) => {
      if (!result.success) return c.redirect(back(c.req.param("id") ?? "", "invalid_shipment"), 303);
    }),
    async (c) => {
      const id = c.req.param("id");
      try {
        await markShipped(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, id, c.req.valid("form"));
      } catch (error) {
        if (error instanceof ProblemError && error.status === 409) return c.redirect(back(id, error.code), 303);
        throw error;
      }
      return c.redirect(back(id), 303);
    },
  )
  .post("/admin/orders/:id/deliver", async (c) => {
    const id = c.req.param("id");
    try {
      await markDelivered(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, id);
    } catch (error) {
      if (error instanceof ProblemError && error.status === 409) return c.redirect(back(id, error.code), 303);
      throw error;
    }
    return c.redirect(back(id), 303);
  });
