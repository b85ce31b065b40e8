import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { retryDelaySeconds } from "../../src/mail/delivery";
import { enqueueMail, htmlFromText } from "../../src/mail/mail";
import { unique } from "../support/factories";
import { ORIGIN } from "../support/http";
import { makePaidOrder, orderRow } from "../support/orders";
import { chargeRefundedEvent, deliverEvent } from "../support/stripe";
import { outbox, waitForMail } from "../support/mail";

/** The consumer with the HTTP provider (as in production), for the batches a test builds itself. */
const httpEnv = {
  ...env,
  MAIL_PROVIDER: "http",
  MAIL_PROVIDER_URL: "https://mail.example.test/send",
  MAIL_PROVIDER_TOKEN: "test-token",
  MAIL_FROM: "Bastion <shop@example.test>",
} as Env;

function mailMessage(body: unknown, attempts = 1) {
  return { id: crypto.randomUUID(), timestamp: new Date(), attempts, body };
}

afterEach(() => vi.restoreAllMocks());

describe("mail through the queue", () => {
  it("a paid order's receipt arrives through the mail queue once, with a plain-text and an HTML part and a working order link", async () => {
    const { held, email, paidEvent: paid } = await makePaidOrder();
    expect((await orderRow(held.order.id))?.status).toBe("paid");
    const [receipt] = await waitForMail(email, (m) => m.subject === `Your Bastion order #${held.order.number}`);
    expect(receipt!.text).toContain("Total paid: $22.50");
    expect(receipt!.text).toContain(`${ORIGIN}/orders/${held.order.id}`);
    expect(receipt!.html).toContain(`<a href="${ORIGIN}/orders/${held.order.id}">`);
    // Stripe retries the same event: the order is settled and the receipt is not sent twice.
    expect((await deliverEvent(paid)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    expect((await outbox(email)).filter((m) => m.subject === `Your Bastion order #${held.order.number}`)).toHaveLength(1);

    const refund = chargeRefundedEvent({ paymentIntentId: held.paymentIntentId, amount: 2250, amountRefunded: 1000 });
    expect((await deliverEvent(refund)).status).toBe(200);
    const notices = await waitForMail(email, (m) => m.subject.startsWith("Refund"));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toContain("We have refunded $10.00 of your order");
  });

  it("a provider outage never blocks the request and loses nothing: the consumer retries with backoff, then the mail is sent", async () => {
    const mail = { to: `${unique("out").toLowerCase()}@example.com`, subject: "Hello", text: "Line one\n\nhttps://shop.example/x", key: `test:${unique("k")}` };
    const calls: string[] = [];
    let providerUp = false;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const req = new Request(input as RequestInfo, init);
      calls.push(`${req.url} ${req.headers.get("authorization")}`);
      return providerUp ? Response.json({ id: "msg_1" }) : new Response("unavailable", { status: 503 });
    });
    const first = createMessageBatch("bastion-mail", [mailMessage({ ...mail, html: htmlFromText(mail.subject, mail.text) }, 1)]);
    let ctx = createExecutionContext();
    await worker.queue(first, httpEnv, ctx);
    const failed = await getQueueResult(first, ctx);
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages).toEqual([{ msgId: first.messages[0]!.id }]);
    // Backoff: 30 s, then doubling, capped at an hour (the queue gives up after max_retries).
    expect([1, 2, 3, 10].map(retryDelaySeconds)).toEqual([30, 60, 120, 3600]);
    expect(calls).toEqual(["https://mail.example.test/send Bearer test-token"]);

    providerUp = true;
    const second = createMessageBatch("bastion-mail", [mailMessage({ ...mail, html: htmlFromText(mail.subject, mail.text) }, 2)]);
    ctx = createExecutionContext();
    await worker.queue(second, httpEnv, ctx);
    expect((await getQueueResult(second, ctx)).explicitAcks).toEqual([second.messages[0]!.id]);
    // Delivered once: the same keyed mail redelivered is acknowledged without calling the provider.
    const third = createMessageBatch("bastion-mail", [mailMessage(mail, 3)]);
    ctx = createExecutionContext();
    await worker.queue(third, httpEnv, ctx);
    expect((await getQueueResult(third, ctx)).explicitAcks).toEqual([third.messages[0]!.id]);
    expect(calls).toHaveLength(2);
  });

  it("Cloudflare Email Service: the consumer sends HTML with its text part from MAIL_FROM through the send_email binding; a refusal is retried", async () => {
    const sent: unknown[] = [];
    let refuse = true;
    const binding = {
      async send(message: unknown) {
        sent.push(message);
        if (refuse) throw new Error("E_SENDER_NOT_VERIFIED");
        return { messageId: "m_1" };
      },
    } as unknown as SendEmail;
    const cfEnv = { ...env, MAIL_PROVIDER: "cloudflare", MAIL_FROM: "Bastion Shop <shop@example.test>", EMAIL: binding } as Env;
    const mail = {
      to: `${unique("cf").toLowerCase()}@example.com`,
      subject: "Your order",
      text: "Thanks\n\nhttps://shop.example/o",
      key: `test:${unique("k")}`,
    };
    const first = createMessageBatch("bastion-mail", [mailMessage({ ...mail, html: htmlFromText(mail.subject, mail.text) }, 1)]);
    let ctx = createExecutionContext();
    await worker.queue(first, cfEnv, ctx);
    expect((await getQueueResult(first, ctx)).retryMessages).toEqual([{ msgId: first.messages[0]!.id }]);
    refuse = false;
    const second = createMessageBatch("bastion-mail", [mailMessage({ ...mail, html: htmlFromText(mail.subject, mail.text) }, 2)]);
    ctx = createExecutionContext();
    await worker.queue(second, cfEnv, ctx);
    expect((await getQueueResult(second, ctx)).explicitAcks).toEqual([second.messages[0]!.id]);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual({
      from: { name: "Bastion Shop", email: "shop@example.test" },
      to: mail.to,
      subject: "Your order",
      text: mail.text,
      html: htmlFromText(mail.subject, mail.text),
    });
    expect(await outbox(mail.to)).toEqual([]);
  });

  it("the send_email binding is real locally: wrangler's simulation takes the structured message", async () => {
    const cfEnv = { ...env, MAIL_PROVIDER: "cloudflare", MAIL_FROM: "shop@example.test" } as Env;
    const mail = { to: `${unique("local").toLowerCase()}@example.com`, subject: "Local", text: "Hello", key: `test:${unique("k")}` };
    const batch = createMessageBatch("bastion-mail", [mailMessage(mail, 1)]);
    const ctx = createExecutionContext();
    await worker.queue(batch, cfEnv, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual([batch.messages[0]!.id]);
  });

  it("after the queue's last retry the dead-letter queue keeps the whole mail in D1 for the operator", async () => {
    const mail = { to: `${unique("dead").toLowerCase()}@example.com`, subject: "Your order", text: "Receipt", key: `test:${unique("k")}` };
    const batch = createMessageBatch("bastion-mail-dlq", [mailMessage(mail, 9)]);
    const ctx = createExecutionContext();
    await worker.queue(batch, httpEnv, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual([batch.messages[0]!.id]);
    const kept = await env.DB.prepare('SELECT "to", subject, message, attempts FROM mail_dead_letters WHERE "to" = ?').bind(mail.to).first();
    expect(kept).toEqual({ to: mail.to, subject: "Your order", message: JSON.stringify(mail), attempts: 9 });
  });

  it("account mail uses the same queue: enqueueing answers at once and the outbox fills when the consumer runs", async () => {
    const to = `${unique("acct").toLowerCase()}@example.com`;
    await enqueueMail(env, { to, subject: "Confirm your email", text: "Open https://shop.example/verify?token=abc" });
    const [row] = await waitForMail(to);
    expect(row!.html).toContain('<a href="https://shop.example/verify?token=abc">');
    // The HTML part escapes what it shows.
    expect(htmlFromText("<b>", "<script>alert(1)</script>")).not.toContain("<script>");
  });

  it("a message that is not a mail is acknowledged and dropped, never retried forever", async () => {
    const batch = createMessageBatch("bastion-mail", [mailMessage({ to: "not an address", subject: "" })]);
    const ctx = createExecutionContext();
    await worker.queue(batch, httpEnv, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([batch.messages[0]!.id]);
    expect(result.retryMessages).toEqual([]);
  });
});
