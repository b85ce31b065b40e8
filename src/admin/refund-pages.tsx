import { Hono, type Context } from "hono";
import { stepUpValidUntil, stepUpWithTotp } from "../accounts/step-up";
import type { LineRefundRequest } from "../checkout/refund-lines";
import { orders, type OrderRow } from "../checkout/schema";
import { eq } from "drizzle-orm";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { minorUnits, orderNumberLabel } from "../web/format";
import { Layout } from "../web/layout";
import { actorOf, staffUser } from "./guard";
import { previewRefund, requestRefund, type RefundInput } from "./order-refunds";
import { findAdminOrder } from "./orders";
import { Alert, money, StaffNav } from "./page-parts";

/**
 * The refund desk (issue 32): the order page's form asks (GET, nothing changes) for the
 * confirmation page, which names the amount and the lines, and asks in place for a code from the
 * authenticator app when the session's step-up is not recent; its POST makes the refund. A refusal
 * (a wrong code, an amount that changed, a line refunded meanwhile) goes back to the same
 * confirmation page with the same choices, never to a bare error on a POST address.
 */

/** Words for the refusals the confirmation page explains. */
const MESSAGES: Record<string, string> = {
  amount_required: "Give the amount to refund, like 12.50, or choose lines or the rest.",
  amount_invalid: "Give the amount in the order's currency, like 12.50.",
  lines_required: "Choose at least one unit of a line to refund.",
  step_up_required: "Type the code from your authenticator app to confirm it is you.",
  invalid_code: "That code is not right (or was used already): try the next one.",
  throttled: "Too many wrong codes: wait a moment, then try again.",
  no_authenticator: "This account has no authenticator app: sign in again to refund.",
  confirm: "Confirm the amount on this page to refund.",
  refund_amount_changed: "The amount changed since you confirmed it (a refund was made meanwhile): check the new amount.",
  line_already_refunded: "A line was refunded meanwhile: check the lines again.",
  line_refund_exceeds_quantity: "Fewer units of a line are left to refund than asked.",
  refund_exceeds_remaining: "Less is left to refund on this order than asked.",
  order_not_refundable: "This order cannot be refunded (any more).",
  charge_disputed: "This payment is disputed: answer the dispute instead of refunding.",
};

/** A refusal's words: a known code's, else a generic line (the query never puts free text on the page). */
function messageFor(code: string | undefined): string | undefined {
  if (!code) return undefined;
  return MESSAGES[code] ?? (/^[a-z_]{1,40}$/.test(code) ? `The refund was refused (${code}).` : "The refund was refused.");
}

type Mode = "amount" | "rest" | "lines";

/** The refund the form's fields ask for (GET query or POST body alike), or the reason it asks for nothing. */
function choiceOf(fields: Record<string, string>, order: OrderRow): { mode: Mode; input: RefundInput } | { error: string } {
  const mode: Mode = fields.mode === "rest" || fields.mode === "lines" ? fields.mode : "amount";
  if (mode === "rest") return { mode, input: {} };
  if (mode === "lines") {
    const lines: LineRefundRequest[] = [];
    for (const [name, value] of Object.entries(fields)) {
      if (!name.startsWith("qty.") || !/^\d{1,5}$/.test(value.trim()) || Number(value) < 1) continue;
      const variantId = name.slice(4, 104);
      lines.push({ variantId, quantity: Number(value), restock: fields[`restock.${variantId}`] === "on" });
    }
    return lines.length && lines.length <= 25 ? { mode, input: { lines } } : { error: "lines_required" };
  }
  if (!fields.amount?.trim()) return { error: "amount_required" };
  const cents = minorUnits(fields.amount.slice(0, 12), order.currency);
  return cents ? { mode, input: { amountCents: cents } } : { error: "amount_invalid" };
}

/** The refund choice as query fields (to come back to the confirmation page with them). */
function choiceQuery(fields: Record<string, string>, error?: string): string {
  const kept = Object.entries(fields).filter(([k]) => k === "mode" || k === "amount" || k === "key" || k.startsWith("qty.") || k.startsWith("restock."));
  const q = new URLSearchParams(kept);
  if (error) q.set("error", error);
  return q.toString();
}

function ConfirmPage(props: {
  order: NonNullable<Awaited<ReturnType<typeof findAdminOrder>>>;
  fields: Record<string, string>;
  preview: {
    amountCents: number;
    lines: { productId: string; variantId: string; name: string; quantity: number; amountCents: number; restock: boolean }[];
  } | null;
  error?: string | undefined;
  needsCode: boolean;
  refundKey: string;
}) {
  const o = props.order;
  const base = `/admin/orders/${encodeURIComponent(o.id)}`;
  const label = orderNumberLabel(o);
  return (
    <Layout title={`Staff: refund order ${label}`}>
      <StaffNav />
      <h1>Refund order {label}</h1>
      <Alert message={props.error} />
      {props.preview ? (
        <form class="stack refund-confirm" method="post" action={`${base}/refund`}>
          <p class="confirm-amount" data-confirm-amount={props.preview.amountCents}>
            Refund <strong>{money(props.preview.amountCents, o.currency)}</strong> to {o.customerEmail ?? "the customer"}?
          </p>
          {props.preview.lines.length > 0 ? (
            <ul>
              {props.preview.lines.map((l) => (
                <li data-confirm-line={l.variantId}>
                  {l.quantity} × {l.name}: {money(l.amountCents, o.currency)}
                  {l.restock ? " — back on the shelf" : " — not restocked"}
                </li>
              ))}
            </ul>
          ) : null}
          <p>
            Paid {money(o.totalCents, o.currency)}
            {o.refundedCents > 0 ? `, ${money(o.refundedCents, o.currency)} refunded already` : ""}. The money goes back to the card; this cannot be undone.
          </p>
          {Object.entries(props.fields)
            .filter(([k]) => k === "mode" || k === "amount" || k.startsWith("qty.") || k.startsWith("restock."))
            .map(([k, v]) => (
              <input type="hidden" name={k} value={v} />
            ))}
          <input type="hidden" name="expectedCents" value={String(props.preview.amountCents)} />
          {/* One key per confirmation: a double click or a resubmitted page is one refund. */}
          <input type="hidden" name="idempotencyKey" value={props.refundKey} />
          {props.needsCode ? (
            <label>
              Code from your authenticator app (confirms it is you for 15 minutes)
              <input name="code" required inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,8}" maxlength={8} />
            </label>
          ) : null}
          <div class="actions">
            <button type="submit" class="danger">
              Refund {money(props.preview.amountCents, o.currency)}
            </button>{" "}
            <a href={base}>Cancel</a>
          </div>
        </form>
      ) : (
        <p>
          <a href={base}>Back to the order</a>
        </p>
      )}
    </Layout>
  );
}

async function orderOr404(c: Context<AppEnv>) {
  const db = getDb(c.env.DB);
  const id = c.req.param("id") ?? "";
  const [row] = await db.select().from(orders).where(eq(orders.id, id)).limit(1);
  const order = row ? await findAdminOrder(db, id) : null;
  if (!row || !order) throw new ProblemError(404, "order_not_found", "No order has this id.");
  return { row, order };
}

/** What the confirmation shows: the amount and lines a refund would be now, or why it cannot be. */
async function previewFor(c: Context<AppEnv>, row: OrderRow, order: NonNullable<Awaited<ReturnType<typeof findAdminOrder>>>, fields: Record<string, string>) {
  if (row.status === "expired" || row.status === "cancelled") {
    const open = order.paymentsAfterClose.filter((p) => p.refundId === null).reduce((sum, p) => sum + p.amountCents, 0);
    return open > 0 ? { preview: { amountCents: open, lines: [] } } : { error: "This order holds no payment to refund." };
  }
  const choice = choiceOf(fields, row);
  if ("error" in choice) return { error: MESSAGES[choice.error] };
  try {
    return { preview: await previewRefund(getDb(c.env.DB), row, choice.input) };
  } catch (error) {
    if (error instanceof ProblemError && error.status < 500) return { error: error.detail ?? error.code };
    throw error;
  }
}

export const refundPages = new Hono<AppEnv>()
  .get("/admin/orders/:id/refund", async (c) => {
    const { row, order } = await orderOr404(c);
    const fields = c.req.query();
    const found = await previewFor(c, row, order, fields);
    const needsCode = (await stepUpValidUntil(c.env, staffUser(c))) === null;
    const error = [messageFor(fields.error), found.error].filter(Boolean).join(" ") || undefined;
    const key = /^[A-Za-z0-9_-]{8,64}$/.test(fields.key ?? "") ? fields.key! : crypto.randomUUID();
    const body = <ConfirmPage order={order} fields={{ ...fields, key }} preview={found.preview ?? null} error={error} needsCode={needsCode} refundKey={key} />;
    return c.html(body, found.preview ? 200 : 409);
  })
  .post("/admin/orders/:id/refund", async (c) => {
    const { row } = await orderOr404(c);
    const form = Object.fromEntries(Object.entries(await c.req.parseBody()).filter((e): e is [string, string] => typeof e[1] === "string"));
    const key = /^[A-Za-z0-9_-]{8,64}$/.test(form.idempotencyKey ?? "") ? form.idempotencyKey! : undefined;
    const back = (error: string) =>
      c.redirect(`/admin/orders/${encodeURIComponent(row.id)}/refund?${choiceQuery({ ...form, ...(key ? { key } : {}) }, error)}`, 303);
    const user = staffUser(c);
    if ((await stepUpValidUntil(c.env, user)) === null) {
      if (!form.code?.trim()) return back("step_up_required");
      const stepped = await stepUpWithTotp(c, user, form.code.slice(0, 16));
      if ("refused" in stepped) return back(stepped.refused);
    }
    const expected = /^\d{1,12}$/.test(form.expectedCents ?? "") ? Number(form.expectedCents) : undefined;
    // Without the amount the page named, nothing is refunded: the confirmation step cannot be skipped.
    if (expected === undefined) return back("confirm");
    let input: RefundInput = {};
    if (row.status === "paid") {
      const choice = choiceOf(form, row);
      if ("error" in choice) return back(choice.error);
      input = choice.input;
    }
    try {
      await requestRefund(c.env, c.var.config, getDb(c.env.DB), actorOf(c), row.id, { ...input, expectedCents: expected, idempotencyKey: key });
    } catch (error) {
      if (error instanceof ProblemError && error.status < 500) return back(error.code);
      throw error;
    }
    return c.redirect(`/admin/orders/${encodeURIComponent(row.id)}?refunded=${expected}`, 303);
  });
