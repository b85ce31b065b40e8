import { AsyncLocalStorage } from "node:async_hooks";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";

/**
 * Locales prices are written in. The shop's own words stay English; a price follows the shopper's
 * habits ("1.234,50 €" in Germany, "€1,234.50" in Ireland). A short list, so a shared catalog page
 * has at most this many copies per key (decision 018).
 */
export const SUPPORTED_LOCALES = ["en-US", "en-GB", "en-IE", "de-DE", "fr-FR", "es-ES", "it-IT", "nl-NL", "ja-JP"] as const;
export const DEFAULT_LOCALE = "en-US";

/**
 * The supported locale that best fits an Accept-Language header: the highest-weighted tag that
 * is supported as it is, else the first supported locale of its language; the default otherwise.
 */
export function negotiateLocale(header: string | undefined): string {
  return matchLocale(header) ?? DEFAULT_LOCALE;
}

/** The supported locale an Accept-Language header asks for, or null when it names none (the shop's default applies). */
export function matchLocale(header: string | undefined): string | null {
  if (!header) return null;
  const wanted = header
    .split(",")
    .slice(0, 20)
    .map((part, index) => {
      const [tag = "", ...params] = part.trim().split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      const weight = q ? Number(q.slice(2)) : 1;
      return { tag: tag.trim().toLowerCase(), weight: Number.isFinite(weight) ? weight : 0, index };
    })
    .filter((w) => w.tag !== "" && w.tag !== "*" && w.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  for (const { tag } of wanted) {
    const exact = SUPPORTED_LOCALES.find((l) => l.toLowerCase() === tag);
    if (exact) return exact;
    const language = SUPPORTED_LOCALES.find((l) => l.slice(0, 2).toLowerCase() === tag.slice(0, 2));
    if (language) return language;
  }
  return null;
}

const storage = new AsyncLocalStorage<string>();

/** The locale of the request being served (prices in pages), or the default outside one (mail, cron). */
export function currentLocale(): string {
  return storage.getStore() ?? DEFAULT_LOCALE;
}

/** Runs `fn` with `locale` as the request's locale (the shop's default, for a shopper who asks for none we have). */
export function withLocale<T>(locale: string, fn: () => T): T {
  return storage.run(locale, fn);
}

/** Runs the request with the shopper's locale, so any price formatted while serving it follows their habits. */
export const shopperLocale = createMiddleware<AppEnv>((c, next) => storage.run(negotiateLocale(c.req.header("accept-language")), next));
