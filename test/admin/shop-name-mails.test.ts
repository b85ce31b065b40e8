import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { appRequest as request, as } from "../support/admin";
import { ORIGIN, sendJson } from "../support/http";
import { outbox, waitForMail } from "../support/mail";
import { makePaidOrder, orderRow } from "../support/orders";
import { saveShopSettings } from "../support/settings";
import { deliverEvent, disputeEvent } from "../support/stripe";

// Issue 32: mail says the shop's name from its settings, wherever it is sent from (a webhook, the
// staff API, better-auth's routes): none of these requests renders a page.
describe("mails say the shop's name", () => {
  it("receipt, shipping notice, dispute notice and password reset name the shop from its settings, never Bastion", async () => {
    const shop = "Harbour & Co";
    await saveShopSettings({ shopName: shop });
    const admin = await as("admin");
    const { orderId, email, held } = await makePaidOrder();
    const number = (await orderRow(orderId))!.number;

    const [receipt] = await waitForMail(email, (m) => m.subject === `Your ${shop} order #${number}`);
    expect(receipt!.text).toContain(`— ${shop}`);

    const shipped = await request(`/api/admin/orders/${orderId}/ship`, {
      method: "POST",
      headers: { ...admin, origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ carrier: "DHL", trackingNumber: "JD1" }),
    });
    expect(shipped.status).toBe(200);
    const [notice] = await waitForMail(email, (m) => m.subject === `Your ${shop} order #${number} has shipped`);
    expect(notice!.text).toContain(`— ${shop}`);

    expect((await deliverEvent(disputeEvent({ paymentIntentId: held.paymentIntentId, amount: held.order.totalCents, status: "needs_response" }))).status).toBe(
      200,
    );
    const adminEmail = ((await env.DB.prepare("SELECT email FROM user WHERE role = 'admin' LIMIT 1").first()) as { email: string }).email;
    await waitForMail(adminEmail, (m) => m.subject === `${shop}: dispute on order #${number}`);

    expect((await sendJson("POST", "/api/auth/request-password-reset", { email, redirectTo: "/reset-password" })).status).toBe(200);
    const [reset] = await waitForMail(email, (m) => m.subject === `Reset your ${shop} password`);
    expect(reset!.text).toContain(`your ${shop} account`);

    for (const to of [email, adminEmail]) for (const m of await outbox(to)) expect(`${m.subject}\n${m.text}`).not.toContain("Bastion");
  });
});
