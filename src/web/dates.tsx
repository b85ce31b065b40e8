import { AsyncLocalStorage } from "node:async_hooks";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../platform/app-env";
import { currentLocale } from "../platform/locale";

/**
 * Dates for staff (issue 32): in their locale (Accept-Language, src/platform/locale.ts) and their
 * time zone. The zone comes from the `tz` cookie our own staff script sets from the browser's
 * `Intl` zone (public/assets/staff.js); until then, and for a zone this runtime does not know, UTC
 * (and the page says so). Every date is a <time datetime> with the exact instant.
 */
export const TZ_COOKIE = "tz";

const storage = new AsyncLocalStorage<string>();

/** A zone name this runtime's Intl accepts, or null. */
export function validTimeZone(name: string | undefined): string | null {
  if (!name || name.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(name)) return null;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return name;
  } catch {
    return null;
  }
}

/** The time zone of the request being served (UTC outside one, or without a known zone). */
export function currentTimeZone(): string {
  return storage.getStore() ?? "UTC";
}

/** The staff member's zone while serving a staff page, or null for any other page. */
export function staffZone(): string | null {
  return storage.getStore() ?? null;
}

/** Runs a staff request in the staff member's time zone. */
export const staffTimeZone = createMiddleware<AppEnv>((c, next) => storage.run(validTimeZone(getCookie(c, TZ_COOKIE)) ?? "UTC", next));

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(kind: "date" | "datetime"): Intl.DateTimeFormat {
  const key = `${currentLocale()}|${currentTimeZone()}|${kind}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(currentLocale(), {
      timeZone: currentTimeZone(),
      dateStyle: "medium",
      ...(kind === "datetime" ? { timeStyle: "short" } : {}),
    });
    formatters.set(key, f);
  }
  return f;
}

/** An instant as staff read it, e.g. "Dec 7, 2026, 10:42 PM" (en-US, their zone). */
export function formatInstant(iso: string, kind: "date" | "datetime" = "datetime"): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : formatter(kind).format(at);
}

/** The instant local midnight of `date` (YYYY-MM-DD) is in `timeZone`, as an ISO string. */
export function zonedMidnight(date: string, timeZone: string): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  // The zone's offset at that moment: the wall clock there minus UTC (twice, for a day an offset changes).
  const offset = (at: number): number => {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date(at))
      .reduce<Record<string, number>>((acc, p) => (p.type === "literal" ? acc : Object.assign(acc, { [p.type]: Number(p.value) })), {});
    return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) - at;
  };
  const first = guess - offset(guess);
  return new Date(guess - offset(first)).toISOString();
}

/** Today's date (YYYY-MM-DD) in `timeZone`. */
export function zonedToday(timeZone: string, now: number = Date.now()): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(now));
}

/** A date-time for staff: the exact instant in `datetime`, the words in their locale and zone. */
export function When(props: { iso: string | null; kind?: "date" | "datetime" }) {
  if (!props.iso) return <>—</>;
  return (
    <time datetime={props.iso} title={`${props.iso} (UTC)`}>
      {formatInstant(props.iso, props.kind)}
    </time>
  );
}
