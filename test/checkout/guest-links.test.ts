import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GUEST_ORDER_COOKIE_LIFETIME_S, guestOrderCookieValue, guestOrderKey, guestOrderPath } from "../../src/checkout/guest-access";
import type { OrderRow } from "../../src/checkout/schema";
import { hmacSha256Key } from "../../src/platform/hmac";
import { toBase64Url } from "../../src/platform/base64url";
import { redactSecrets } from "../../src/platform/log";
import { cookiesFrom, jsonAs, makeStaff, markEmailVerified, signUpAndSignIn } from "../support/accounts";
import { unique } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { makePendingOrder, orderRow } from "../support/orders";

const DAY = 86_400_000;

/** A paid guest order straight in D1 (the links are what the checkout answer and the mails carry: guestOrderPath). */
async function paidGuestOrder(fields: { keyVersion?: number; legacyExpiresAt?: number } = {}): Promise<{ order: OrderRow; email: string; key: string }> {
  const email = `${unique("guest").toLowerCase()}@example.com`;
  const { order } = await makePendingOrder({ userId: `guest_${unique("cart")}`, status: "paid" });
  await env.DB.prepare("UPDATE orders SET customer_email = ?, guest_key_version = ?, guest_access_expires_at = ? WHERE id = ?")
    .bind(email, fields.keyVersion ?? 1, fields.legacyExpiresAt ?? null, order.id)
    .run();
  const row = (await orderRow(order.id))!;
  const key = new URL((await guestOrderPath(env, row))!, ORIGIN).searchParams.get("key")!;
  return { order: row, email, key };
}

const api = (orderId: string, key: string) => request(`/api/guest-orders/${orderId}`, { headers: { "x-order-key": key } });
const exchange = (orderId: string, query: string) => request(`/orders/${orderId}?${query}`, { redirect: "manual" });
const page = (orderId: string, cookie: string) => request(`/orders/${orderId}`, { headers: { cookie }, redirect: "manual" });
const auditRowsFor = async (orderId: string) =>
  (
    await env.DB.prepare("SELECT action, detail FROM audit_events WHERE subject = ? OR detail LIKE ?")
      .bind(orderId, `%${orderId}%`)
      .all<{ action: string; detail: string }>()
  ).results;

/** The 90-day key of a link issued before key versions: an HMAC over the order id and the stored expiry. */
async function legacyKey(orderId: string, expiresAtMs: number): Promise<string> {
  const signing = await hmacSha256Key(`guest-order:${env.BETTER_AUTH_SECRET ?? "development"}`);
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", signing, new TextEncoder().encode(`guest-order.v1|${orderId}|${expiresAtMs}`))));
}

afterEach(() => vi.restoreAllMocks());

describe("a guest order's link is exchanged for a cookie and leaves the URL", () => {
  it("the key is exchanged once for a __Host- cookie of this order only, and the shopper lands on the clean address", async () => {
    const { order, key } = await paidGuestOrder();
    const res = await exchange(order.id, `key=${key}&status=success&utm_source=mail`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/orders/${order.id}?status=success`);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const [line, ...others] = res.headers.getSetCookie();
    expect(others).toEqual([]);
    expect(line).toMatch(new RegExp(`^__Host-bastion_order_${order.id}=[0-9]+\\.[A-Za-z0-9_-]{43};`));
    expect(line).toContain(`Max-Age=${GUEST_ORDER_COOKIE_LIFETIME_S}`);
    expect(line).toContain("Path=/");
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; Secure/);
    expect(line).toMatch(/; SameSite=Lax/);
    expect(line).not.toMatch(/Domain=/i);
    expect(line).not.toContain(key);

    const opened = await page(order.id, cookiesFrom(res));
    expect(opened.status).toBe(200);
    expect(opened.headers.get("cache-control")).toBe("private, no-store");
    const html = await opened.text();
    expect(html).toContain(`Order #${order.number}`);
    expect(html).not.toContain(key); // no link on the page carries the key onwards
  });

  it("P12 guest order cookie scope: an order's cookie opens that order only, and only while it lasts", async () => {
    const a = await paidGuestOrder();
    const b = await paidGuestOrder();
    const cookieB = cookiesFrom(await exchange(b.order.id, `key=${b.key}`))
      .split("=")
      .slice(1)
      .join("=");
    expect((await page(b.order.id, `__Host-bastion_order_${b.order.id}=${cookieB}`)).status).toBe(200);
    // B's cookie under A's name, or a cookie minted for A an hour and a second ago, opens nothing: the page asks for a sign-in.
    expect((await page(a.order.id, `__Host-bastion_order_${a.order.id}=${cookieB}`)).status).toBe(401);
    const stale = await guestOrderCookieValue(env, a.order, Date.now() - GUEST_ORDER_COOKIE_LIFETIME_S * 1000 - 1000);
    expect((await page(a.order.id, `__Host-bastion_order_${a.order.id}=${stale}`)).status).toBe(401);
    // The cookie is not a key: the API does not take it.
    expect((await api(a.order.id, cookieB)).status).toBe(404);
    expect(await orderRow(a.order.id)).toEqual(a.order);
  });

  it("P12 non-canonical guest keys: only the one spelling of a key opens the order (no spare bits, padding, other alphabet or length)", async () => {
    const { order, key } = await paidGuestOrder();
    expect((await api(order.id, key)).status).toBe(200);
    const variants = [`${key}=`, key.slice(0, -1), `${key}A`, `${key}.`, key.replaceAll("-", "+").replaceAll("_", "/"), `${key.slice(0, -1)}+`];
    for (const variant of new Set(variants.filter((v) => v !== key))) {
      expect((await api(order.id, variant)).status, variant).toBe(404);
      expect((await exchange(order.id, `key=${encodeURIComponent(variant)}`)).status, variant).toBe(404);
    }
    // A legacy 43-character key spends 2 spare bits in its last character: setting them names the same bytes, and is refused.
    const expiresAt = Date.now() + DAY;
    const legacy = await paidGuestOrder({ keyVersion: 0, legacyExpiresAt: expiresAt });
    const canonical = await legacyKey(legacy.order.id, expiresAt);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(canonical.at(-1)!);
    expect(last % 4).toBe(0);
    const spare = `${canonical.slice(0, -1)}${alphabet[last + 1]}`;
    expect(atob(spare.replaceAll("-", "+").replaceAll("_", "/"))).toBe(atob(canonical.replaceAll("-", "+").replaceAll("_", "/")));
    expect((await api(legacy.order.id, canonical)).status).toBe(200);
    expect((await api(legacy.order.id, spare)).status).toBe(404);
  });

  it("P12 expired guest link: a key past its time opens nothing, on the page or the API", async () => {
    const { order } = await paidGuestOrder();
    const expired = await guestOrderKey(env, order, Date.now() - 1000);
    const fresh = await guestOrderKey(env, order, Date.now() + 60_000);
    expect((await api(order.id, expired)).status).toBe(404);
    const refused = await exchange(order.id, `key=${expired}`);
    expect(refused.status).toBe(404);
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect((await api(order.id, fresh)).status).toBe(200);
  });
});

describe("guest links are revocable", () => {
  it("P12 revoked guest link: after staff revoke, the order's links and cookies open nothing; audited; support and customers cannot revoke", async () => {
    const { order, key } = await paidGuestOrder();
    const cookie = cookiesFrom(await exchange(order.id, `key=${key}`));
    expect((await page(order.id, cookie)).status).toBe(200);
    const revoke = (who: string) => jsonAs(who, "POST", `/api/admin/orders/${order.id}/guest-links/revoke`);

    for (const role of ["support", "customer"] as const) expect((await revoke((await makeStaff(role)).cookie)).status).toBe(403);
    expect((await orderRow(order.id))!.guestKeyVersion).toBe(1);

    const admin = await makeStaff("admin");
    const res = await revoke(admin.cookie);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ orderId: order.id, revoked: true });
    expect((await api(order.id, key)).status).toBe(404);
    expect((await exchange(order.id, `key=${key}`)).status).toBe(404);
    expect((await page(order.id, cookie)).status).toBe(401);
    const after = (await orderRow(order.id))!;
    expect(after).toEqual({ ...order, guestKeyVersion: 2 });
    const audit = await auditRowsFor(order.id);
    expect(audit.map((r) => r.action)).toContain("order.guest_links_revoked");
    expect(JSON.stringify(audit)).not.toContain(key);
    // The next mail's link (a fresh key under the new version) opens it again.
    expect((await api(order.id, new URL((await guestOrderPath(env, after))!, ORIGIN).searchParams.get("key")!)).status).toBe(200);
    // An account's order has no guest links to revoke.
    const { order: accountOrder } = await makePendingOrder({ status: "paid" });
    expect((await jsonAs(admin.cookie, "POST", `/api/admin/orders/${accountOrder.id}/guest-links/revoke`)).status).toBe(404);
  });

  it("P12 claimed guest order: once it joins an account, its guest link and cookie open nothing", async () => {
    const { order, email, key } = await paidGuestOrder();
    const cookie = cookiesFrom(await exchange(order.id, `key=${key}`));
    const account = await signUpAndSignIn({ email });
    await markEmailVerified(account.user.id);
    expect((await request("/api/orders", { headers: { cookie: account.cookie } })).status).toBe(200); // claims it
    const claimed = (await orderRow(order.id))!;
    expect(claimed).toMatchObject({ userId: account.user.id, guestKeyVersion: 2 });
    expect((await api(order.id, key)).status).toBe(404);
    expect((await exchange(order.id, `key=${key}`)).status).toBe(404);
    expect((await page(order.id, cookie)).status).toBe(401);
    // Its owner sees it signed in, with the stale guest cookie beside the session.
    expect((await page(order.id, `${cookie}; ${account.cookie}`)).status).toBe(200);
  });

  it("an order from before key versions (migration 0014) keeps its 90-day link until it expires or its key version moves (staff revoke, a claim)", async () => {
    // The migration marks guest orders that have legacy links as version 0.
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0014_"))!;
    const update = migration.queries.find((q) => q.includes("UPDATE"))!;
    const expiresAt = Date.now() + 80 * DAY;
    const legacy = await paidGuestOrder({ keyVersion: 1, legacyExpiresAt: expiresAt });
    await env.DB.prepare(update).run();
    expect((await orderRow(legacy.order.id))!.guestKeyVersion).toBe(0);
    const key = await legacyKey(legacy.order.id, expiresAt);
    expect((await api(legacy.order.id, key)).status).toBe(200);
    const exchanged = await exchange(legacy.order.id, `key=${key}`);
    expect(exchanged.status).toBe(303);
    // Its mails now carry new links; revoking ends the legacy one.
    const admin = await makeStaff("admin");
    expect((await jsonAs(admin.cookie, "POST", `/api/admin/orders/${legacy.order.id}/guest-links/revoke`)).status).toBe(200);
    expect((await api(legacy.order.id, key)).status).toBe(404);
    expect((await page(legacy.order.id, cookiesFrom(exchanged))).status).toBe(401);
    // Past its stored expiry a legacy link opens nothing either.
    const past = Date.now() - 1000;
    const expired = await paidGuestOrder({ keyVersion: 0, legacyExpiresAt: past });
    expect((await api(expired.order.id, await legacyKey(expired.order.id, past))).status).toBe(404);
  });
});

describe("the shop's logs never hold a guest key", () => {
  it("P12 guest keys in logs: the exchange, the API (header and deprecated query) and refused keys log the path, never the key", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    }
    const { order, key } = await paidGuestOrder();
    const wrong = await guestOrderKey(env, order, Date.now() - 1000);
    expect((await exchange(order.id, `key=${key}`)).status).toBe(303);
    expect((await exchange(order.id, `key=${wrong}`)).status).toBe(404);
    expect((await api(order.id, key)).status).toBe(200);
    expect((await request(`/api/guest-orders/${order.id}?key=${key}`)).status).toBe(200);
    const exchanged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).startsWith("guest_link_"));
    expect(exchanged).toEqual([
      expect.objectContaining({ msg: "guest_link_exchanged", path: `/orders/${order.id}`, orderId: order.id }),
      expect.objectContaining({ msg: "guest_link_refused", path: `/orders/${order.id}` }),
    ]);
    for (const line of lines) {
      expect(line).not.toContain(key);
      expect(line).not.toContain(wrong);
    }
  });

  it("a URL with a secret in a log field (an error message, a stack) is redacted", () => {
    const line = JSON.stringify({ error: `fetch failed: ${ORIGIN}/orders/ord_1?status=success&key=abc_DEF-123 at x`, next: "/verify?token=t0k&code=c0de#x" });
    const redacted = redactSecrets(line);
    expect(redacted).toContain("/orders/ord_1?status=success&key=[redacted] at x");
    expect(redacted).toContain("/verify?token=[redacted]&code=[redacted]#x");
    expect(redacted).not.toMatch(/abc_DEF|t0k|c0de/);
  });
});
