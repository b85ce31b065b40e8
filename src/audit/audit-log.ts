import { DurableObject } from "cloudflare:workers";

/** Durable Object for the append-only audit chain. Its behaviour is built by its domain's issue; declared here so the binding exists. */
export class AuditLog extends DurableObject<Env> {}
