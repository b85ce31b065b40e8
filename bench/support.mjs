// Helpers the bench scripts share: building a probe worker, migrating a local D1 through
// Miniflare, and a keep-alive HTTP client for loopback load.
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Bundles a probe worker (bench/*-worker.ts) for Miniflare: one ES module, workerd's imports left alone. */
export async function buildProbeWorker(entry, plugins = []) {
  const out = await build({
    plugins,
    entryPoints: [path.join(ROOT, "bench", entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    write: false,
    external: ["cloudflare:*", "node:*"],
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
  });
  return out.outputFiles[0].text;
}

/** Applies migrations/*.sql in order to a Miniflare D1 database (statement by statement). */
export async function applyMigrations(db) {
  const dir = path.join(ROOT, "migrations");
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    for (const sql of readFileSync(path.join(dir, file), "utf8").split("--> statement-breakpoint")) {
      const statement = sql.replace(/^\s*--.*$/gm, "").trim();
      if (statement) await db.prepare(statement).run();
    }
  }
}

/** A keep-alive client for `base`: `send(method, path, { headers, body })` resolves { status, headers, body }. */
export function keepAliveClient(base, maxSockets = 256) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  function send(method, urlPath, { headers = {}, body } = {}) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${base}${urlPath}`,
        { method, agent, headers: { "content-length": body === undefined ? 0 : Buffer.byteLength(body), ...headers } },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        },
      );
      req.on("error", reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
  return { send, agent };
}
