import { makeStaff } from "./accounts";
import { request, sendJson } from "./http";

const staffCache = new Map<string, Promise<Record<string, string>>>();

/**
 * Headers of a real signed-in account with the given role (second factor on unless told): signed
 * up over HTTP, role set in D1. One account per role and flag per test file (storage is per file).
 */
export function as(role: "customer" | "support" | "admin", opts: { twoFactorEnabled?: boolean } = {}): Promise<Record<string, string>> {
  const key = `${role}:${opts.twoFactorEnabled !== false}`;
  let pending = staffCache.get(key);
  if (!pending) {
    pending = makeStaff(role, { twoFactor: opts.twoFactorEnabled !== false }).then((who) => ({ cookie: who.cookie }));
    staffCache.set(key, pending);
  }
  return pending;
}

/** Sends a request through the worker, as a client on the network would. */
export function appRequest(path: string, init: RequestInit = {}): Promise<Response> {
  return request(path, init);
}

/** JSON from the shop's own origin. */
export function appJson(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return sendJson(method, path, body, headers);
}
