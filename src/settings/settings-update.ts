// Changing the shop's settings (admins only, through PUT /api/admin/settings or /admin/settings):
// the body's shape (zod), then the rules a shape cannot say (readable colours, safe links, an
// uploaded logo, a currency the shop can charge), then the audit event naming who changed which
// fields, then one upsert with a new version, so every shared page rendered with the old
// settings is never served again (decision 024).
import { z } from "zod";
import { requireAudit } from "../audit/audit";
import { mediaKey } from "../catalog/images";
import { isChargeableCurrency } from "../payments/currency";
import type { Config } from "../platform/config";
import { SUPPORTED_LOCALES } from "../platform/locale";
import { ProblemError } from "../platform/problem";
import { MAX_MARKDOWN_LENGTH, safeHref } from "./markdown";
import { contrastRatio, MIN_CONTRAST, PAGE_BACKGROUND } from "./colours";
import { forgetShopSettings, readShopSettings, type ShopSettings } from "./shop-settings";

const HexColour = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, "a colour as #rrggbb")
  .transform((v) => v.toLowerCase());
const Policy = z.string().max(MAX_MARKDOWN_LENGTH);

/** Every setting, as PUT /api/admin/settings takes it (the whole document: nothing is defaulted). */
export const SettingsInput = z
  .object({
    shopName: z.string().trim().min(1).max(60),
    logoUrl: z.string().max(200).nullable(),
    brandColour: HexColour,
    accentColour: HexColour,
    heroTitle: z.string().trim().min(1).max(120),
    heroText: z.string().trim().max(400),
    footerLinks: z.array(z.object({ label: z.string().trim().min(1).max(40), href: z.string().trim().min(1).max(300) }).strict()).max(8),
    contactEmail: z.email().max(254).nullable(),
    contactAddress: z.string().trim().max(500).nullable(),
    defaultCurrency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, "an ISO 4217 code")
      .transform((v) => v.toUpperCase()),
    defaultLocale: z.enum(SUPPORTED_LOCALES),
    returnWindowDays: z.number().int().min(0).max(365),
    policies: z.object({ privacy: Policy, terms: Policy, shipping: Policy, returns: Policy }).strict(),
  })
  .strict();
export type SettingsInput = z.infer<typeof SettingsInput>;

/** Who changed the settings, for the audit event. */
export interface SettingsEditor {
  id: string;
  ip: string | null;
}

/** The fields of a settings document, as the API names them (the audit event lists the changed ones). */
const FIELDS = Object.keys(SettingsInput.shape) as (keyof SettingsInput)[];

/** The stored settings as the API shows them. */
export function settingsDocument(s: ShopSettings): SettingsInput {
  return {
    shopName: s.shopName,
    logoUrl: s.logoUrl,
    brandColour: s.brandColour,
    accentColour: s.accentColour,
    heroTitle: s.heroTitle,
    heroText: s.heroText,
    footerLinks: s.footerLinks,
    contactEmail: s.contactEmail,
    contactAddress: s.contactAddress,
    defaultCurrency: s.defaultCurrency,
    defaultLocale: s.defaultLocale as SettingsInput["defaultLocale"],
    returnWindowDays: s.returnWindowDays,
    policies: s.policies,
  };
}

/** The rules beyond the shape: each refusal names its field, with a stable code. */
async function checkSettings(bucket: R2Bucket, config: Pick<Config, "SHOP_CURRENCY">, input: SettingsInput, before: ShopSettings): Promise<void> {
  // White text sits on both colours (buttons and the hero on the brand colour, the cart badge on
  // the accent); the brand colour is also the links' colour on the page's background.
  for (const field of ["brandColour", "accentColour"] as const) {
    const against = field === "brandColour" ? ["#ffffff", PAGE_BACKGROUND] : ["#ffffff"];
    const worst = Math.min(...against.map((other) => contrastRatio(input[field], other)));
    if (worst < MIN_CONTRAST) {
      throw new ProblemError(
        422,
        "colour_contrast",
        `${input[field]} is too light to read white text on, or to read as text on the page (contrast ${worst.toFixed(2)}:1, needs ${MIN_CONTRAST}:1).`,
        { errors: [{ path: field, message: `contrast ${worst.toFixed(2)}:1 is below ${MIN_CONTRAST}:1` }] },
      );
    }
  }
  input.footerLinks.forEach((link, i) => {
    if (safeHref(link.href) === null) {
      throw new ProblemError(422, "unsafe_link", "A footer link must be a path on this shop, or an https:, http:, mailto: or tel: address.", {
        errors: [{ path: `footerLinks.${i}.href`, message: "not an allowed link" }],
      });
    }
  });
  if (input.logoUrl !== null && input.logoUrl !== before.logoUrl) {
    const key = mediaKey(input.logoUrl);
    if (key === null || key.endsWith(".svg") || (await bucket.head(key)) === null) {
      throw new ProblemError(422, "logo_not_found", "The logo must be an image uploaded to this shop (POST /api/admin/images).", {
        errors: [{ path: "logoUrl", message: "not an uploaded image" }],
      });
    }
  }
  if (!isChargeableCurrency(input.defaultCurrency) || (config.SHOP_CURRENCY && input.defaultCurrency !== config.SHOP_CURRENCY)) {
    throw new ProblemError(
      422,
      "currency_not_accepted",
      config.SHOP_CURRENCY ? `This shop sells in ${config.SHOP_CURRENCY} only.` : "The shop cannot take payments in that currency.",
      {
        errors: [{ path: "defaultCurrency", message: "not a currency this shop sells in" }],
      },
    );
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Saves the settings: checked, then audited (who, which fields; fail-closed: no change without
 * its record), then written in one statement with a new version. Nothing changed: nothing written
 * or audited. Returns the settings as stored.
 */
export async function saveShopSettingsAudited(
  env: Env,
  config: Pick<Config, "SHOP_CURRENCY">,
  editor: SettingsEditor,
  input: SettingsInput,
): Promise<ShopSettings> {
  forgetShopSettings();
  const before = await readShopSettings(env.DB);
  await checkSettings(env.PRODUCT_IMAGES, config, input, before);
  const current = settingsDocument(before);
  const changed = FIELDS.filter((field) => !sameValue(current[field], input[field]));
  if (changed.length === 0) return before;
  const policiesChanged = Object.keys(input.policies).filter(
    (p) => !sameValue(current.policies[p as keyof SettingsInput["policies"]], input.policies[p as keyof SettingsInput["policies"]]),
  );
  await requireAudit(env, {
    actor: editor.id,
    ip: editor.ip,
    action: "settings.updated",
    subject: "shop_settings",
    detail: { fields: changed, ...(policiesChanged.length ? { policies: policiesChanged } : {}) },
  });
  await env.DB.prepare(
    `INSERT INTO shop_settings (id, shop_name, logo_url, brand_colour, accent_colour, hero_title, hero_text, footer_links, contact_email,
       contact_address, default_currency, default_locale, return_window_days, privacy_policy, terms_policy, shipping_policy, returns_policy,
       version, updated_at, updated_by)
     VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, lower(hex(randomblob(8))), strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?17)
     ON CONFLICT(id) DO UPDATE SET shop_name = excluded.shop_name, logo_url = excluded.logo_url, brand_colour = excluded.brand_colour,
       accent_colour = excluded.accent_colour, hero_title = excluded.hero_title, hero_text = excluded.hero_text, footer_links = excluded.footer_links,
       contact_email = excluded.contact_email, contact_address = excluded.contact_address, default_currency = excluded.default_currency,
       default_locale = excluded.default_locale, return_window_days = excluded.return_window_days, privacy_policy = excluded.privacy_policy,
       terms_policy = excluded.terms_policy, shipping_policy = excluded.shipping_policy, returns_policy = excluded.returns_policy,
       version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
  )
    .bind(
      input.shopName,
      input.logoUrl,
      input.brandColour,
      input.accentColour,
      input.heroTitle,
      input.heroText,
      JSON.stringify(input.footerLinks),
      input.contactEmail,
      input.contactAddress,
      input.defaultCurrency,
      input.defaultLocale,
      input.returnWindowDays,
      input.policies.privacy,
      input.policies.terms,
      input.policies.shipping,
      input.policies.returns,
      editor.id,
    )
    .run();
  forgetShopSettings();
  return readShopSettings(env.DB);
}
