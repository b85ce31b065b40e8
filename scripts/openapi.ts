// `npm run openapi`: refreshes the committed API contract from the routes, deliberately.
//   1. the worker's served document (without development routes) → openapi/openapi.json, through
//      the snapshot test (vitest -u), so the file is exactly what the worker serves;
//   2. refuses, and puts the old file back, when the change breaks clients (scripts/openapi-diff.ts)
//      unless run as `npm run openapi -- --accept-breaking`;
//   3. lints it (Redocly, redocly.yaml) and regenerates the typed client's types (client/schema.d.ts).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { breakingChanges } from "./openapi-diff.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SNAPSHOT = path.join(ROOT, "openapi", "openapi.json");
const bin = (name: string): string => path.join(ROOT, "node_modules", ".bin", name);
const run = (cmd: string, args: string[]): void => {
  execFileSync(cmd, args, { cwd: ROOT, stdio: "inherit", env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" } });
};

const before = readFileSync(SNAPSHOT, "utf8");
run(bin("vitest"), ["run", "--project", "workers", "test/api/document.test.ts", "--update"]);
const after = readFileSync(SNAPSHOT, "utf8");
const breaking = breakingChanges(JSON.parse(before), JSON.parse(after));
if (breaking.length > 0 && !process.argv.includes("--accept-breaking")) {
  writeFileSync(SNAPSHOT, before);
  console.error(`openapi: ${breaking.length} breaking change(s); openapi/openapi.json left as it was:\n  ${breaking.join("\n  ")}`);
  console.error("If the break is deliberate (and announced to integrators), run `npm run openapi -- --accept-breaking`.");
  process.exit(1);
}
run(bin("redocly"), ["lint", "openapi/openapi.json"]);
run(bin("openapi-typescript"), ["openapi/openapi.json", "--output", "client/schema.d.ts", "--redocly", "redocly.yaml"]);
console.log(
  before === after
    ? "openapi: no change"
    : `openapi: openapi/openapi.json updated${breaking.length ? ` with ${breaking.length} accepted breaking change(s)` : ""}; client/schema.d.ts regenerated`,
);
