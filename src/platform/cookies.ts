/**
 * Names of the cookies that mark a request as someone's own, shared by the modules that must
 * tell such requests apart (the accounts that issue the session cookie, the shared page cache
 * that never serves or stores anything for a signed-in request).
 */
export const SESSION_COOKIE = "__Host-bastion.session_token";

/** Whether the request carries a cookie named `name` (any value). */
export function hasCookie(cookieHeader: string | undefined, name: string): boolean {
  if (!cookieHeader) return false;
  return cookieHeader.split(";").some((part) => part.trimStart().startsWith(`${name}=`));
}
