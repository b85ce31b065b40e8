import { normalizeIP } from "@better-auth/core/utils/ip";
import type { Context } from "hono";
import type { AppEnv } from "./app-env";

/**
 * The client's address as a throttling key: IPv4 as is (IPv4-mapped IPv6 turned back into IPv4),
 * IPv6 reduced to its /64, because one home connection or server gets a whole /64 for free and
 * could otherwise rotate through addresses to dodge per-address limits. From `CF-Connecting-IP`
 * only (set by Cloudflare); never from X-Forwarded-For.
 */
export function clientAddressKey(c: Context<AppEnv>): string {
  return addressKeyOf(c.req.header("cf-connecting-ip") ?? null);
}

/** `clientAddressKey` for an address already read from the request. */
export function addressKeyOf(raw: string | null | undefined): string {
  if (!raw) return "unknown";
  try {
    return normalizeIP(raw.trim(), { ipv6Subnet: 64 });
  } catch {
    return "invalid";
  }
}
