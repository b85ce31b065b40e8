import { describe, expect, it } from "vitest";
import { forgetCatalogVersion } from "../../src/catalog/page-cache";
import { negotiateLocale } from "../../src/platform/locale";
import { formatMoney } from "../../src/web/format";
import { makeProduct, unique } from "../support/factories";
import { request } from "../support/http";

/** Intl separates with no-break spaces (U+00A0, U+202F); compared as plain spaces. */
const spaced = (text: string) => text.replace(/[\u00a0\u202f]/g, " ");
const money = (...args: Parameters<typeof formatMoney>) => spaced(formatMoney(...args));

describe("money in the shopper's locale and the currency's own minor units", () => {
  it("formats each currency with its own exponent in any supported locale", () => {
    expect(money(1999, "USD", "en-US")).toBe("$19.99");
    expect(money(500, "JPY", "en-US")).toBe("¥500");
    expect(money(500, "JPY", "ja-JP")).toBe("￥500");
    expect(money(1234, "KWD", "en-US")).toBe("KWD 1.234");
    expect(money(123450, "EUR", "de-DE")).toBe("1.234,50 €");
    expect(money(123450, "EUR", "en-IE")).toBe("€1,234.50");
  });

  it("negotiates Accept-Language against the supported list by weight, then by language", () => {
    expect(negotiateLocale(undefined)).toBe("en-US");
    expect(negotiateLocale("de-CH,de;q=0.9,en;q=0.8")).toBe("de-DE");
    expect(negotiateLocale("fr;q=0.2, ja-JP;q=0.9")).toBe("ja-JP");
    expect(negotiateLocale("en-GB")).toBe("en-GB");
    expect(negotiateLocale("xx, *;q=0.5")).toBe("en-US");
    expect(negotiateLocale("de;q=abc, nl")).toBe("nl-NL");
  });

  it("a product page shows prices in the shopper's locale; each locale is its own shared copy", async () => {
    const p = await makeProduct({ name: `Kettle ${unique("k")}`, priceCents: 123450, currency: "EUR" });
    forgetCatalogVersion();
    const german = await request(`/products/${p.slug}`, { headers: { "accept-language": "de-DE,de;q=0.9" } });
    expect(german.headers.get("vary")).toContain("Accept-Language");
    expect(spaced(await german.text())).toContain("1.234,50 €");
    const irish = await request(`/products/${p.slug}`, { headers: { "accept-language": "en-IE" } });
    expect(spaced(await irish.text())).toContain("€1,234.50");
    const germanAgain = await request(`/products/${p.slug}`, { headers: { "accept-language": "de" } });
    expect(germanAgain.headers.get("x-bastion-cache")).toBe("memory");
    expect(spaced(await germanAgain.text())).toContain("1.234,50 €");
  });
});
