// M-002: fails when any tracked file holds something that looks like a real Stripe key or webhook
// secret. Placeholders are allowed only when they are obviously not keys (short, or dev/test words).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Key prefixes with a body of 16+ key characters: the shape of a real Stripe credential. */
export const SECRET_PATTERN = /\b(sk_live_|sk_test_|rk_live_|rk_test_|whsec_)([A-Za-z0-9]{16,})\b/g;

/** Returns `file:line: prefix…` for every real-looking secret in the given text. */
export function findSecrets(file, text) {
  const hits = [];
  text.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(SECRET_PATTERN)) hits.push(`${file}:${i + 1}: ${m[1]}… (${m[2].length} chars)`);
  });
  return hits;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = execFileSync("git", ["ls-files", "-z"], { encoding: "utf8" }).split("\0").filter(Boolean);
  const hits = [];
  for (const file of files) {
    if (file === "package-lock.json") continue;
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    hits.push(...findSecrets(file, text));
  }
  if (hits.length) {
    console.error(`Stripe keys or webhook secrets found in tracked files (M-002):\n${hits.join("\n")}`);
    process.exit(1);
  }
  console.log(`check:secrets: ${files.length} tracked files, no Stripe keys found.`);
}
