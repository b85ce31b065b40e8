// How the operator scripts start wrangler: the project's own binary when it is installed (one
// process; `npx` would first start npm, about a second each time, and the restore drill and
// audit:verify call wrangler many times), else `npx wrangler`.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const LOCAL = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "node_modules", ".bin", "wrangler");

/** `[command, args]` for execFile/execFileSync that runs `wrangler ...args`. */
export function wranglerCommand(args) {
  return existsSync(LOCAL) ? [LOCAL, args] : ["npx", ["wrangler", ...args]];
}
