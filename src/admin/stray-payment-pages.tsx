import { Hono } from "hono";
import { requireFreshSession } from "../accounts/session";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { Layout } from "../web/layout";
import { actorOf, staffUser } from "./guard";
import { Alert, money, refusalOf, StaffNav } from "./page-parts";
import { refundStrayPaymentById, strayPaymentDesk, type StrayPayment } from "./stray-payments";

function StrayPaymentList(props: { items: StrayPayment[]; all: boolean; error?: string | undefined }) {
  return (
    <Layout title="Staff: stray payments">
      <StaffNav />
      <h1>Stray payments</h1>
      <p>
        Money the shop received but will not fulfil: its order closed first, it failed the shop's checks, or no order matches it. Refund each once.{" "}
        {props.all ? <a href="/admin/stray-payments">Show only those not refunded</a> : <a href="/admin/stray-payments?state=all">Show all</a>}
      </p>
      <Alert message={props.error} />
      {props.items.length === 0 ? (
        <p data-empty>{props.all ? "No stray payments." : "No stray payment waits for a refund."}</p>
      ) : (
        <ul class="stack" data-stray-payments>
          {props.items.map((p) => (
            <li data-stray={p.id}>
              <strong>{money(p.amountCents, p.currency)}</strong> · {p.reason.replaceAll("_", " ")} · received {p.receivedAt}
              <br />
              {p.orderId ? (
                <>
                  order <a href={`/admin/orders/${encodeURIComponent(p.orderId)}`}>{p.orderId}</a> ·{" "}
                </>
              ) : (
                "no order · "
              )}
              payment <code class="wrap">{p.id}</code>
              <br />
              {p.refundState === "refunded" ? (
                <span data-refund-state="refunded">
                  refunded (<code class="wrap">{p.refundId}</code>)
                </span>
              ) : p.refundState === "requested" ? (
                <span data-refund-state="requested">refund under way</span>
              ) : (
                <form method="post" action={`/admin/stray-payments/${encodeURIComponent(p.id)}/refund`}>
                  <button type="submit" class="danger">
                    Refund {money(p.amountCents, p.currency)}
                  </button>
                </form>
              )}
            </li>
          ))}
        </ul>
      )}
    </Layout>
  );
}

/** Staff pages for stray payments (admin only); the same audited functions as the API. */
export const strayPaymentPages = new Hono<AppEnv>()
  .get("/admin/stray-payments", async (c) => {
    const all = c.req.query("state") === "all";
    return c.html(<StrayPaymentList items={await strayPaymentDesk(getDb(c.env.DB), { open: !all })} all={all} />);
  })
  .post("/admin/stray-payments/:id/refund", async (c) => {
    const db = getDb(c.env.DB);
    try {
      requireFreshSession(staffUser(c));
      await refundStrayPaymentById(c.env, c.var.config, db, actorOf(c), c.req.param("id"));
    } catch (error) {
      const refusal = refusalOf(error);
      return c.html(<StrayPaymentList items={await strayPaymentDesk(db, { open: true })} all={false} error={refusal.message} />, refusal.status);
    }
    return c.redirect("/admin/stray-payments?state=all", 303);
  });
