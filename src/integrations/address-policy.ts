// Where outbound webhooks may go (threat T11, SSRF): checked when an admin registers an endpoint
// AND again before every delivery. Only https to a public host name or public address; nothing
// private, loopback, link-local, CGNAT, multicast, unspecified, reserved or cloud metadata. Plain
// http to this machine only in development, so `npm run dev` can deliver to its own dev receiver.
// Residual risk (decision 023): a public name that resolves to a private address (DNS rebinding)
// is not caught here; Workers' fetch runs on Cloudflare's network, which has no route into the
// operator's private networks unless they bind one (Tunnel, VPC service), which this shop does not.

/** Why a URL is refused, as the problem's detail names it. */
export type AddressRefusal = "not_a_url" | "scheme" | "credentials" | "port" | "private_name" | "private_address" | "own_origin" | "too_long";

export type AddressVerdict = { ok: true; url: URL } | { ok: false; reason: AddressRefusal };

/** Names that never leave the machine or the private network (RFC 6761, 6762, 8375, cloud metadata). */
const PRIVATE_SUFFIXES = [".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".localdomain", ".corp", ".private"];
const PRIVATE_NAMES = new Set(["localhost", "metadata", "instance-data", "metadata.google.internal", "metadata.goog"]);

/** IPv4 ranges refused (RFC 6890 special-purpose, CGNAT, multicast, reserved, metadata). */
const REFUSED_V4: readonly [string, number][] = [
  ["0.0.0.0", 8], // this network, unspecified
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // CGNAT (also Alibaba's metadata 100.100.100.200)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (AWS/GCP/Azure metadata 169.254.169.254)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // 6to4 relay
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];

function v4ToNumber(address: string): number | null {
  const parts = address.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** Whether a dotted-quad IPv4 address is in a refused range. */
export function isRefusedIpv4(address: string): boolean {
  const n = v4ToNumber(address);
  if (n === null) return true;
  return REFUSED_V4.some(([base, bits]) => {
    const b = v4ToNumber(base)!;
    const size = 2 ** (32 - bits);
    return n >= b && n < b + size;
  });
}

/** The eight 16-bit groups of an IPv6 address (embedded dotted IPv4 included), or null. */
function v6Groups(address: string): number[] | null {
  let text = address.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) return null; // zone ids only name link-local interfaces
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4ToNumber(dotted[1]!);
    if (n === null) return null;
    text = `${text.slice(0, -dotted[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => Number.parseInt(g, 16));
}

/** Whether an IPv6 address is refused: anything but global unicast outside the special ranges. */
export function isRefusedIpv6(address: string): boolean {
  const g = v6Groups(address);
  if (!g) return true;
  const [a, b] = [g[0]!, g[1]!];
  const zeroUpTo = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(6)) return true; // ::, ::1, IPv4-compatible ::a.b.c.d
  if (zeroUpTo(5) && g[5] === 0xffff) return true; // IPv4-mapped ::ffff:a.b.c.d
  if (a === 0x64 && b === 0xff9b) return true; // NAT64 64:ff9b::/96 and 64:ff9b:1::/48
  if (a === 0x100 && zeroUpTo(4)) return true; // discard 100::/64
  if (a === 0x2001 && b < 0x200) return true; // 2001::/23 IETF (Teredo, benchmarking, ORCHID)
  if (a === 0x2001 && b === 0xdb8) return true; // documentation
  if (a === 0x2002) return true; // 6to4: its embedded IPv4 may be private
  if ((a & 0xfe00) === 0xfc00) return true; // unique local fc00::/7 (AWS metadata fd00:ec2::254)
  if ((a & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((a & 0xffc0) === 0xfec0) return true; // site-local fec0::/10
  if ((a & 0xff00) === 0xff00) return true; // multicast
  return (a & 0xe000) !== 0x2000; // only global unicast 2000::/3 is public
}

/** A host name that looks like an IPv4 address in some spelling the URL parser did not normalise. */
function looksNumeric(host: string): boolean {
  const last = host.split(".").pop() ?? "";
  return /^(0x[0-9a-f]*|\d+)$/i.test(last);
}

/** Whether a URL's host is this machine, in any spelling (for development's plain-http exception). */
function isLoopbackHost(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (host.startsWith("[")) return (v6Groups(host.slice(1, -1)) ?? []).join(":") === "0:0:0:0:0:0:0:1";
  const n = v4ToNumber(host);
  return n !== null && n >>> 24 === 127;
}

export interface AddressPolicy {
  /** Development only: plain http to this machine (the dev receiver). */
  allowLoopbackHttp: boolean;
  /** The shop's own origin: the shop never delivers to itself (except the dev receiver in development). */
  ownOrigin: string;
}

/**
 * Whether `raw` may receive webhooks. The WHATWG URL parser first turns every IPv4 spelling
 * (decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`) into a dotted quad and
 * compresses IPv6, so the checks below see one spelling; whatever still looks numeric is refused.
 */
export function checkEndpointUrl(raw: string, policy: AddressPolicy): AddressVerdict {
  if (raw.length > 2000) return { ok: false, reason: "too_long" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not_a_url" };
  }
  const host = url.hostname.toLowerCase().replace(/\.+$/, "");
  if (policy.allowLoopbackHttp && url.protocol === "http:" && isLoopbackHost(host) && !url.username && !url.password) return { ok: true, url };
  if (url.protocol !== "https:") return { ok: false, reason: "scheme" };
  if (url.username || url.password) return { ok: false, reason: "credentials" };
  if (url.port !== "" && url.port !== "443" && Number(url.port) < 1024) return { ok: false, reason: "port" };
  if (host === "") return { ok: false, reason: "not_a_url" };
  if (host.startsWith("[")) return isRefusedIpv6(host.slice(1, -1)) ? { ok: false, reason: "private_address" } : { ok: true, url };
  if (v4ToNumber(host) !== null) return isRefusedIpv4(host) ? { ok: false, reason: "private_address" } : { ok: true, url };
  if (looksNumeric(host)) return { ok: false, reason: "private_address" };
  if (PRIVATE_NAMES.has(host) || PRIVATE_SUFFIXES.some((s) => host.endsWith(s)) || !host.includes(".")) return { ok: false, reason: "private_name" };
  if (host === new URL(policy.ownOrigin).hostname.toLowerCase()) return { ok: false, reason: "own_origin" };
  return { ok: true, url };
}

/** What each refusal says to the admin. */
export const REFUSAL_TEXT: Record<AddressRefusal, string> = {
  not_a_url: "This is not a URL.",
  scheme: "Webhook endpoints must use https://.",
  credentials: "A URL with a user name or password is refused: the secret signs each delivery instead.",
  port: "Ports below 1024 other than 443 are refused.",
  private_name: "This host name only exists on a private network or this machine.",
  private_address: "Private, loopback, link-local, shared (CGNAT), multicast, reserved and metadata addresses are refused.",
  own_origin: "The shop does not deliver webhooks to itself.",
  too_long: "The URL is too long (2,000 characters at most).",
};
