import { Hono, type Context } from "hono";
import { stepUpValidUntil, stepUpWithTotp } from "../accounts/step-up";
import { variantTitle } from "../catalog/variants";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { RETURN_STATUS_TEXT } from "../returns/return-views";
import { RETURN_STATUSES, type ReturnStatus } from "../returns/schema";
import { listReturns, type StaffReturnItem } from "../returns/staff-list";
import { approveReturn, receiveReturn, refuseReturn, returnAndOrder } from "../returns/steps";
import { orderNumberLabel } from "../web/format";
import { Layout } from "../web/layout";
import { actorOf, staffUser } from "./guard";
import { Alert, money, StaffNav } from "./page-parts";
import { previewReturnRefund, refundReturn } from "./return-refund";

/**
 * The returns desk (issue 32): the queue of returns and one return's page, whose forms make its
 * steps through the same audited functions as the API. The refund asks in place for a code from
 * the authenticator app when the session's step-up is not recent, like every refund.
 */

const MESSAGES: Record<string, string> = {
  approved: "Approved: the shopper is asked to send the items.",
  refused: "Refused: the shopper is told why.",
  received: "Marked received.",
  refunded: "Refunded: the money goes back to the card; restocked items are back on the shelf.",
  step_up_required: "Type the code from your authenticator app to confirm it is you.",
  invalid_code: "That code is not right (or was used already): try the next one.",
  throttled: "Too many wrong codes: wait a moment, then try again.",
  no_authenticator: "This account has no authenticator app: sign in again to refund.",
  refusal_reason_required: "Say why the return is refused: the shopper reads it.",
  return_wrong_status: "This return changed meanwhile: look at it again.",
  refund_amount_changed: "The amount changed since you looked (a refund was made meanwhile): check it again.",
  line_already_refunded: "A line of this return was refunded meanwhile (on the order page?): check the order.",
  line_refund_exceeds_quantity: "Fewer units of a line are left to refund than this return holds.",
  order_not_refundable: "This order cannot be refunded (any more).",
  charge_disputed: "This payment is disputed: answer the dispute instead of refunding.",
};

function messageFor(code: string | undefined): string | undefined {
  if (!code) return undefined;
  return MESSAGES[code] ?? (/^[a-z_]{1,40}$/.test(code) ? `Refused (${code}).` : "Refused.");
}

const label = (r: StaffReturnItem["order"]) => orderNumberLabel({ id: r.id, number: r.number });
const lineText = (l: { quantity: number; name: string; options: Record<string, string> }) => `${l.quantity} × ${variantTitle(l.name, l.options)}`;

function ListPage(props: { items: StaffReturnItem[]; status: ReturnStatus | undefined }) {
  return (
    <Layout title="Staff: returns">
      <StaffNav />
      <h1>Returns</h1>
      <p class="filters">
        Show: <a href="/admin/returns">all</a>
        {RETURN_STATUSES.map((s) => (
          <>
            {" · "}
            <a href={`/admin/returns?status=${s}`} aria-current={props.status === s ? "page" : undefined}>
              {s}
            </a>
          </>
        ))}
      </p>
      {props.items.length === 0 ? (
        <p class="empty">No returns{props.status ? ` ${props.status}` : ""}.</p>
      ) : (
        <div class="table-scroll">
          <table data-returns-list>
            <thead>
              <tr>
                <th scope="col">Asked</th>
                <th scope="col">Order</th>
                <th scope="col">Items</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {props.items.map((r) => (
                <tr data-return-row={r.id}>
                  <td>{r.createdAt.slice(0, 10)}</td>
                  <td>
                    <a href={`/admin/returns/${encodeURIComponent(r.id)}`}>{label(r.order)}</a>
                    <div class="muted wrap-anywhere">{r.order.customerEmail ?? ""}</div>
                  </td>
                  <td>{r.lines.map(lineText).join(", ")}</td>
                  <td data-status={r.status}>{r.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}

type Loaded = Awaited<ReturnType<typeof returnAndOrder>>;

function ReturnPage(props: Loaded & { message: string | undefined; refund: { amountCents: number } | null; refundError: string | null; needsCode: boolean }) {
  const { ret, order } = props;
  const base = `/admin/returns/${encodeURIComponent(ret.id)}`;
  const orderLabel = orderNumberLabel(order);
  return (
    <Layout title={`Staff: return for order ${orderLabel}`}>
      <StaffNav />
      <h1>Return for order {orderLabel}</h1>
      <Alert message={props.message} />
      <dl class="facts">
        <dt>Order</dt>
        <dd>
          <a href={`/admin/orders/${encodeURIComponent(order.id)}`}>{orderLabel}</a> ({money(order.totalCents, order.currency)} paid
          {order.refundedCents > 0 ? `, ${money(order.refundedCents, order.currency)} refunded` : ""})
        </dd>
        <dt>Customer</dt>
        <dd class="wrap-anywhere">{order.customerEmail ?? "—"}</dd>
        <dt>Status</dt>
        <dd data-return-status={ret.status}>{RETURN_STATUS_TEXT[ret.status]}</dd>
        <dt>Asked</dt>
        <dd>{ret.createdAt.slice(0, 16).replace("T", " ")}</dd>
        <dt>Shopper's reason</dt>
        <dd class="wrap-anywhere">{ret.reason || "—"}</dd>
        {ret.refusalReason ? (
          <>
            <dt>Refused because</dt>
            <dd class="wrap-anywhere">{ret.refusalReason}</dd>
          </>
        ) : null}
        {ret.refundCents !== null ? (
          <>
            <dt>Refunded</dt>
            <dd data-return-refund={ret.refundCents}>{money(ret.refundCents, order.currency)}</dd>
          </>
        ) : null}
      </dl>
      <h2>Items</h2>
      <ul data-return-lines>
        {ret.lines.map((l) => (
          <li>
            {lineText(l)}
            {ret.status === "received" || ret.status === "refunded" ? (l.restock ? " — back on the shelf" : " — not restocked") : ""}
          </li>
        ))}
      </ul>
      {ret.status === "requested" ? (
        <form method="post" action={`${base}/approve`} class="inline-form">
          <button type="submit">Approve the return</button>
        </form>
      ) : null}
      {ret.status === "approved" ? (
        <form method="post" action={`${base}/receive`} class="form panel">
          <h2>The items arrived</h2>
          {ret.lines.map((l) => (
            <label class="choice">
              <input type="checkbox" name={`restock.${l.variantId}`} checked /> Put {lineText(l)} back on the shelf
            </label>
          ))}
          <button type="submit">Mark received</button>
        </form>
      ) : null}
      {ret.status === "received" ? (
        props.refund ? (
          <form method="post" action={`${base}/refund`} class="form panel">
            <h2>Refund</h2>
            <p class="confirm-amount" data-confirm-amount={props.refund.amountCents}>
              Refund <strong>{money(props.refund.amountCents, order.currency)}</strong> for these items to {order.customerEmail ?? "the customer"}? This cannot
              be undone.
            </p>
            <input type="hidden" name="expectedCents" value={String(props.refund.amountCents)} />
            {props.needsCode ? (
              <label>
                Code from your authenticator app (confirms it is you for 15 minutes)
                <input name="code" required inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,8}" maxlength={8} />
              </label>
            ) : null}
            <button type="submit" class="danger">
              Refund {money(props.refund.amountCents, order.currency)}
            </button>
          </form>
        ) : (
          <p role="alert">This return cannot be refunded: {props.refundError}</p>
        )
      ) : null}
      {ret.status === "requested" || ret.status === "approved" ? (
        <form method="post" action={`${base}/refuse`} class="form panel">
          <h2>Refuse</h2>
          <label>
            Why (the shopper reads this)
            <textarea name="reason" required maxlength={500} rows={3} />
          </label>
          <button type="submit" class="secondary">
            Refuse the return
          </button>
        </form>
      ) : null}
      <p>
        <a href="/admin/returns">All returns</a>
      </p>
    </Layout>
  );
}

async function formOf(c: Context<AppEnv>): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await c.req.parseBody()).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** Runs a step; a refusal goes back to the return's page with its code, never a bare error on a POST address. */
async function stepped(c: Context<AppEnv>, done: string, run: (id: string) => Promise<unknown>): Promise<Response> {
  const id = c.req.param("id") ?? "";
  const back = `/admin/returns/${encodeURIComponent(id)}`;
  try {
    await run(id);
  } catch (error) {
    if (error instanceof ProblemError && error.status < 500 && error.code !== "return_not_found") return c.redirect(`${back}?m=${error.code}`, 303);
    throw error;
  }
  return c.redirect(`${back}?m=${done}`, 303);
}

export const returnPages = new Hono<AppEnv>()
  .get("/admin/returns", async (c) => {
    const wanted = c.req.query("status");
    const status = (RETURN_STATUSES as readonly string[]).includes(wanted ?? "") ? (wanted as ReturnStatus) : undefined;
    return c.html(<ListPage items={await listReturns(getDb(c.env.DB), status)} status={status} />);
  })
  .get("/admin/returns/:id", async (c) => {
    const db = getDb(c.env.DB);
    const loaded = await returnAndOrder(db, c.req.param("id"));
    let refund: { amountCents: number } | null = null;
    let refundError: string | null = null;
    if (loaded.ret.status === "received") {
      try {
        refund = { amountCents: (await previewReturnRefund(db, loaded.ret.id)).amountCents };
      } catch (error) {
        if (!(error instanceof ProblemError) || error.status >= 500) throw error;
        refundError = error.detail ?? error.code;
      }
    }
    const needsCode = (await stepUpValidUntil(c.env, staffUser(c))) === null;
    const message = messageFor(c.req.query("m")?.slice(0, 40));
    return c.html(<ReturnPage {...loaded} message={message} refund={refund} refundError={refundError} needsCode={needsCode} />);
  })
  .post("/admin/returns/:id/approve", (c) => stepped(c, "approved", (id) => approveReturn(c.env, getDb(c.env.DB), actorOf(c), id)))
  .post("/admin/returns/:id/refuse", async (c) => {
    const reason = ((await formOf(c)).reason ?? "").slice(0, 500);
    return stepped(c, "refused", (id) => refuseReturn(c.env, getDb(c.env.DB), actorOf(c), id, reason));
  })
  .post("/admin/returns/:id/receive", async (c) => {
    const form = await formOf(c);
    return stepped(c, "received", async (id) => {
      const { ret } = await returnAndOrder(getDb(c.env.DB), id);
      // An unticked checkbox sends nothing: every line of the return gets an explicit choice.
      const restock = Object.fromEntries(ret.lines.map((l) => [l.variantId, form[`restock.${l.variantId}`] === "on"]));
      return receiveReturn(c.env, getDb(c.env.DB), actorOf(c), id, restock);
    });
  })
  .post("/admin/returns/:id/refund", async (c) => {
    const form = await formOf(c);
    const user = staffUser(c);
    return stepped(c, "refunded", async (id) => {
      if ((await stepUpValidUntil(c.env, user)) === null) {
        if (!form.code?.trim()) throw new ProblemError(403, "step_up_required", "Confirm it is you.");
        const result = await stepUpWithTotp(c, user, form.code.slice(0, 16));
        if ("refused" in result) throw new ProblemError(403, result.refused, "The code was refused.");
      }
      // Without the amount the page named, nothing is refunded: the confirmation cannot be skipped.
      const expected = /^\d{1,12}$/.test(form.expectedCents ?? "") ? Number(form.expectedCents) : undefined;
      if (expected === undefined) throw new ProblemError(422, "refund_amount_changed", "Confirm the amount on the page.");
      return refundReturn(c.env, c.var.config, getDb(c.env.DB), actorOf(c), id, expected);
    });
  });
