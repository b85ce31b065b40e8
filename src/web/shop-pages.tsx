import { Hono } from "hono";
import { sharedCatalogAnswer } from "../catalog/page-cache";
import type { AppEnv } from "../platform/app-env";
import { MarkdownContent } from "../settings/markdown";
import { currentShopSettings, POLICY_PAGES, type PolicyPage, type ShopSettings } from "../settings/shop-settings";
import { Layout } from "./layout";
import { PAGE_CACHE_CONTROL, sharedPageKey } from "./shared-pages";

const POLICY_TITLES: Record<PolicyPage, string> = {
  privacy: "Privacy policy",
  terms: "Terms of sale",
  shipping: "Shipping",
  returns: "Returns",
};

/** A policy page: the merchant's Markdown (a safe subset, src/settings/markdown.tsx), or a plain note while there is none. */
function PolicyPageView({ page, shop, origin }: { page: PolicyPage; shop: ShopSettings; origin: string }) {
  const source = shop.policies[page];
  return (
    <Layout title={POLICY_TITLES[page]} canonical={`${origin}/${page}`}>
      <article class="prose policy" data-policy={page}>
        <h1 class="page-title">{POLICY_TITLES[page]}</h1>
        {page === "returns" ? (
          <p class="lead" data-return-window>
            You can ask to return goods within {shop.returnWindowDays} days of delivery.
          </p>
        ) : null}
        {source.trim() === "" ? (
          <p>
            {shop.shopName} has not published this page yet. <a href="/contact">Contact us</a> with any question.
          </p>
        ) : (
          <MarkdownContent source={source} />
        )}
      </article>
    </Layout>
  );
}

function ContactPage({ shop, origin }: { shop: ShopSettings; origin: string }) {
  return (
    <Layout title="Contact" canonical={`${origin}/contact`}>
      <article class="prose">
        <h1 class="page-title">Contact {shop.shopName}</h1>
        {shop.contactEmail ? (
          <p>
            Write to us at <a href={`mailto:${shop.contactEmail}`}>{shop.contactEmail}</a>.
          </p>
        ) : (
          <p>Questions about an order? Sign in and open it from your account page.</p>
        )}
        {shop.contactAddress ? (
          <>
            <h2>Address</h2>
            <address data-contact-address>
              {shop.contactAddress.split("\n").map((line, i) => (
                <>
                  {i > 0 ? <br /> : null}
                  {line}
                </>
              ))}
            </address>
          </>
        ) : null}
        <p>
          See also: <a href="/shipping">shipping</a>, <a href="/returns">returns</a>, <a href="/privacy">privacy</a> and <a href="/terms">terms</a>.
        </p>
      </article>
    </Layout>
  );
}

/** The shop's own pages (policies, contact) from its settings, shared through the page cache; and its colours' stylesheet. */
export const shopInfoPages = new Hono<AppEnv>();
for (const page of [...POLICY_PAGES, "contact"] as const) {
  shopInfoPages.get(`/${page}`, async (c) => {
    const origin = c.var.config.PUBLIC_ORIGIN;
    const shop = currentShopSettings();
    const answer = await sharedCatalogAnswer(c, { key: `${sharedPageKey(false)}/${page}`, kind: "html", browser: PAGE_CACHE_CONTROL }, async () =>
      String(page === "contact" ? <ContactPage shop={shop} origin={origin} /> : <PolicyPageView page={page} shop={shop} origin={origin} />),
    );
    return answer ?? c.notFound();
  });
}
shopInfoPages.get("/theme.css", (c) => {
  const theme = currentShopSettings().theme;
  if (!theme) return c.body(":root{}\n", 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-store" });
  // The page names the version it was rendered with; only that version's sheet may be kept long.
  const current = c.req.query("v") === currentShopSettings().version;
  return c.body(theme.css, 200, {
    "content-type": "text/css; charset=utf-8",
    "cache-control": current ? "public, max-age=31536000, immutable" : "no-store",
  });
});
