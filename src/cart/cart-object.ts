import { DurableObject } from "cloudflare:workers";

/** Durable Object for the cart. Its behaviour is built by its domain's issue; declared here so the binding exists. */
export class CartObject extends DurableObject<Env> {}
