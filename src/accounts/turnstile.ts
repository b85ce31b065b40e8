import { isLoopbackOrigin, type Config } from "../platform/config";

/** Cloudflare's documented dummy token, produced by its testing site keys. */
export const DUMMY_TURNSTILE_TOKEN = "XXXX.DUMMY.TOKEN.XXXX";
const SITEVERIFY = "https://challenges.cloudflare.com/turnstile/v0/siteverify";

/**
 * Checks a Turnstile token. In development on a loopback origin (localhost) the dummy token is
 * accepted offline, and nothing else; everywhere else (production, a staging origin) the token
 * goes to siteverify, so the dummy token fails there. A network failure counts as "not verified".
 */
export async function verifyTurnstile(config: Config, token: string | undefined, ip: string | null): Promise<boolean> {
  if (!token || token.length > 2048) return false;
  if (config.ENVIRONMENT === "development" && isLoopbackOrigin(config.PUBLIC_ORIGIN)) return token === DUMMY_TURNSTILE_TOKEN;
  try {
    const form = new FormData();
    form.set("secret", config.TURNSTILE_SECRET_KEY ?? "");
    form.set("response", token);
    if (ip) form.set("remoteip", ip);
    const res = await fetch(SITEVERIFY, { method: "POST", body: form, signal: AbortSignal.timeout(5000) });
    if (!res.ok) return false;
    const body = (await res.json()) as { success?: unknown };
    return body.success === true;
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "turnstile_unreachable", error: String(error) }));
    return false;
  }
}
