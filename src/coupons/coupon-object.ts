import { DurableObject } from "cloudflare:workers";

/** Durable Object for the coupon redemption ledger. Its behaviour is built by its domain's issue; declared here so the binding exists. */
export class CouponObject extends DurableObject<Env> {}
