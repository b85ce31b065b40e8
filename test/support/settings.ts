import { env } from "cloudflare:workers";
import { forgetShopSettings } from "../../src/settings/shop-settings";

/** Saves the shop's settings row straight into D1 (the defaults but these) and makes this isolate read it at once. */
export async function saveShopSettings(values: { shopName?: string; defaultCurrency?: string }): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO shop_settings (id, shop_name, brand_colour, accent_colour, hero_title, hero_text, default_currency, default_locale, return_window_days, version)
     VALUES (1, ?1, '#1f3a5f', '#c2562b', 'Hello', 'Things', ?2, 'en-US', 30, ?3)
     ON CONFLICT (id) DO UPDATE SET shop_name = ?1, default_currency = ?2, version = ?3`,
  )
    .bind(values.shopName ?? "Bastion", values.defaultCurrency ?? "USD", crypto.randomUUID())
    .run();
  forgetShopSettings();
}
