import type { AuditLog } from "./audit-log";

/** The single AuditLog object: one writer, so the chain never forks. */
export function auditLogStub(env: Env): DurableObjectStub<AuditLog> {
  return (env.AUDIT_LOG as unknown as DurableObjectNamespace<AuditLog>).getByName("main");
}
