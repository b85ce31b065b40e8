import { describe, expect, it } from "vitest";
import { computeStripeSignature, verifyStripeSignature } from "../../src/payments/signature";
import { signStripePayload } from "../support/stripe";

const body = '{"id":"evt_1","type":"checkout.session.completed"}';

describe("Stripe webhook signature", () => {
  it("accepts a valid signature, any v1, and the previous secret during rotation", async () => {
    const t = Math.floor(Date.now() / 1000);
    const sig = await computeStripeSignature("whsec_new", t, body);
    expect(await verifyStripeSignature(body, `t=${t},v1=${sig}`, ["whsec_new"])).toBe(true);
    expect(await verifyStripeSignature(body, `t=${t},v1=${"0".repeat(64)},v1=${sig}`, ["whsec_new"])).toBe(true);
    const old = await computeStripeSignature("whsec_old", t, body);
    expect(await verifyStripeSignature(body, `t=${t},v1=${old}`, ["whsec_new", "whsec_old"])).toBe(true);
  });

  it("T05 forged, wrong-secret, modified-body and unsigned are refused", async () => {
    const t = Math.floor(Date.now() / 1000);
    const sig = await computeStripeSignature("whsec_other", t, body);
    expect(await verifyStripeSignature(body, `t=${t},v1=${sig}`, ["whsec_new"])).toBe(false);
    const good = await computeStripeSignature("whsec_new", t, body);
    expect(await verifyStripeSignature(body.replace("evt_1", "evt_2"), `t=${t},v1=${good}`, ["whsec_new"])).toBe(false);
    expect(await verifyStripeSignature(body, undefined, ["whsec_new"])).toBe(false);
    expect(await verifyStripeSignature(body, "garbage", ["whsec_new"])).toBe(false);
  });

  it("T06 stale timestamp beyond 300 s is refused", async () => {
    const t = Math.floor(Date.now() / 1000) - 301;
    const sig = await computeStripeSignature("whsec_new", t, body);
    expect(await verifyStripeSignature(body, `t=${t},v1=${sig}`, ["whsec_new"])).toBe(false);
  });
});

describe("test signing helper", () => {
  it("produces a header the verifier accepts", async () => {
    expect(await verifyStripeSignature(body, await signStripePayload(body, "whsec_x"), ["whsec_x"])).toBe(true);
  });
});
