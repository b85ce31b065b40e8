// The shop's settings as every page reads them: one cached function (`readShopSettings`), the
// defaults for a shop nobody configured yet, and the request's copy (`currentShopSettings`) that
// the page layout reads while it renders (decision 024). Changing them is settings-update.ts.
import { AsyncLocalStorage } from "node:async_hooks";
import { z } from "zod";
import type { ShopSettingsRow } from "./schema";

/** A link in the footer: a label and where it goes (a path on this shop, an https: or mailto: URL). */
export interface FooterLink {
  label: string;
  href: string;
}

/** The policy pages a shop publishes, by their path. */
export const POLICY_PAGES = ["privacy", "terms", "shipping", "returns"] as const;
export type PolicyPage = (typeof POLICY_PAGES)[number];

/** The settings as the shop uses them (the row's columns, parsed). */
export interface ShopSettings {
  shopName: string;
  logoUrl: string | null;
  brandColour: string;
  accentColour: string;
  heroTitle: string;
  heroText: string;
  footerLinks: FooterLink[];
  contactEmail: string | null;
  contactAddress: string | null;
  defaultCurrency: string;
  defaultLocale: string;
  returnWindowDays: number;
  policies: Record<PolicyPage, string>;
  /** Changes with every edit: the shared page cache keys pages by it. */
  version: string;
  updatedAt: string | null;
  /** The stylesheet of the shop's colours (served at /theme.css), or null: the stylesheet's own. */
  theme: ThemeSheet | null;
}

/** The shop's colours as a stylesheet of our own origin, pinned with SRI like every other (M-004). */
export interface ThemeSheet {
  css: string;
  path: string;
  integrity: string;
}

const HEX = /^#[0-9a-f]{6}$/;

/** The custom properties app.css reads; a stored value that is not `#rrggbb` is left out (never CSS from a row). */
export function themeCss(s: Pick<ShopSettings, "brandColour" | "accentColour">): string {
  const brand = HEX.test(s.brandColour) ? `--brand:${s.brandColour};` : "";
  const accent = HEX.test(s.accentColour) ? `--accent:${s.accentColour};` : "";
  return `:root{${brand}${accent}}\n`;
}

async function themeSheet(s: ShopSettings): Promise<ThemeSheet> {
  const css = themeCss(s);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-384", new TextEncoder().encode(css)));
  const integrity = `sha384-${btoa(String.fromCharCode(...digest))}`;
  return { css, path: `/theme.css?v=${encodeURIComponent(s.version)}`, integrity };
}

/** A shop that has saved no settings yet: plain words, the stylesheet's own colours, no policies. */
export const DEFAULT_SETTINGS: ShopSettings = {
  shopName: "Bastion",
  logoUrl: null,
  brandColour: "#1f3a5f",
  accentColour: "#c2562b",
  heroTitle: "Well-made things, sold safely.",
  heroText: "Everyday goods, shipped with care.",
  footerLinks: [],
  contactEmail: null,
  contactAddress: null,
  defaultCurrency: "USD",
  defaultLocale: "en-US",
  returnWindowDays: 30,
  policies: { privacy: "", terms: "", shipping: "", returns: "" },
  version: "default",
  updatedAt: null,
  theme: null,
};

/** How long an isolate trusts the settings it read (an edit in this isolate forgets them at once). */
export const SETTINGS_TTL_MS = 2_000;

const StoredFooterLinks = z.array(z.object({ label: z.string(), href: z.string() })).max(12);

/** The row as the shop uses it; footer links that do not parse read as none (never a 500 on a page). */
export function settingsFromRow(row: ShopSettingsRow): ShopSettings {
  let footerLinks: FooterLink[] = [];
  try {
    const parsed = StoredFooterLinks.safeParse(JSON.parse(row.footerLinks));
    if (parsed.success) footerLinks = parsed.data;
  } catch {
    footerLinks = [];
  }
  return {
    shopName: row.shopName,
    logoUrl: row.logoUrl,
    brandColour: row.brandColour,
    accentColour: row.accentColour,
    heroTitle: row.heroTitle,
    heroText: row.heroText,
    footerLinks,
    contactEmail: row.contactEmail,
    contactAddress: row.contactAddress,
    defaultCurrency: row.defaultCurrency,
    defaultLocale: row.defaultLocale,
    returnWindowDays: row.returnWindowDays,
    policies: { privacy: row.privacyPolicy, terms: row.termsPolicy, shipping: row.shippingPolicy, returns: row.returnsPolicy },
    version: row.version,
    updatedAt: row.updatedAt,
    theme: null,
  };
}

interface SettingsRead {
  settings: ShopSettings;
  at: number;
}

let known: SettingsRead | null = null;

/** An edit in this isolate: the next read asks D1 again. */
export function forgetShopSettings(): void {
  known = null;
}

const SELECT_SETTINGS =
  "SELECT id, shop_name AS shopName, logo_url AS logoUrl, brand_colour AS brandColour, accent_colour AS accentColour, " +
  "hero_title AS heroTitle, hero_text AS heroText, footer_links AS footerLinks, contact_email AS contactEmail, " +
  "contact_address AS contactAddress, default_currency AS defaultCurrency, default_locale AS defaultLocale, " +
  "return_window_days AS returnWindowDays, privacy_policy AS privacyPolicy, terms_policy AS termsPolicy, " +
  "shipping_policy AS shippingPolicy, returns_policy AS returnsPolicy, version, updated_at AS updatedAt, updated_by AS updatedBy " +
  "FROM shop_settings WHERE id = 1";

/**
 * The shop's settings: the one way anything reads them. Kept per isolate for SETTINGS_TTL_MS (one
 * small D1 read at most every two seconds per isolate, not one per page); the defaults when no
 * admin has saved any. `db` is any D1 handle (a read replica's session is fine: the version in
 * each page's cache key names exactly what the page was rendered with).
 */
export async function readShopSettings(db: D1Database | D1DatabaseSession, now: number = Date.now()): Promise<ShopSettings> {
  const cached = known;
  if (cached && now - cached.at < SETTINGS_TTL_MS) return cached.settings;
  const row = await db.prepare(SELECT_SETTINGS).first<ShopSettingsRow>();
  let settings = DEFAULT_SETTINGS;
  if (row) {
    const parsed = settingsFromRow(row);
    settings = { ...parsed, theme: await themeSheet(parsed) };
  }
  known = { settings, at: now };
  return settings;
}

const storage = new AsyncLocalStorage<ShopSettings>();

/** The settings of the request being served (the page layout reads them), or the defaults outside one. */
export function currentShopSettings(): ShopSettings {
  return storage.getStore() ?? DEFAULT_SETTINGS;
}

/**
 * The settings for work that may run outside a page (mails from the API, webhooks, queues): the
 * request's when a page is being served, else read through the one cached function.
 */
export async function shopSettingsFor(db: D1Database | D1DatabaseSession): Promise<ShopSettings> {
  return storage.getStore() ?? readShopSettings(db);
}

/** Runs `fn` with `settings` as the request's settings. */
export function withShopSettings<T>(settings: ShopSettings, fn: () => T): T {
  return storage.run(settings, fn);
}
