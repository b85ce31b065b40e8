// The worker `bench/audit-appends.mjs` runs: the shop's real AuditLog object, and one route that
// drives it with `writers` concurrent writers (each awaits its append before sending the next,
// like an audited request) for `ms` milliseconds, and answers how many appends completed.
import { AuditLog } from "../src/audit/audit-log";

export { AuditLog };

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const writers = Number(url.searchParams.get("writers") ?? "1");
    const ms = Number(url.searchParams.get("ms") ?? "3000");
    const stub = (env.AUDIT_LOG as unknown as DurableObjectNamespace<AuditLog>).getByName("main");
    const deadline = Date.now() + ms;
    let done = 0;
    let failed = 0;
    const start = Date.now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; Date.now() < deadline; i++) {
          try {
            await stub.append({ actor: `usr_bench_${w}`, action: "bench.append", subject: `prd_${i}`, detail: { w, i }, ip: "203.0.113.7" });
            done += 1;
          } catch {
            failed += 1;
          }
        }
      }),
    );
    const seconds = (Date.now() - start) / 1000;
    return Response.json({ writers, done, failed, seconds, perSecond: done / seconds });
  },
};
