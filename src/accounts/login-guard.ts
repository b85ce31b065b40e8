import { DurableObject } from "cloudflare:workers";

/** Durable Object for the login throttling counters. Its behaviour is built by its domain's issue; declared here so the binding exists. */
export class LoginGuard extends DurableObject<Env> {}
