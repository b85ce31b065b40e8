import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import { currentShopSettings } from "../settings/shop-settings";
import { ASSETS } from "./asset-manifest";
import { staffZone } from "./dates";

/** Open Graph card of a page (absolute URLs). */
export interface OpenGraph {
  type: "website" | "product";
  url: string;
  image?: string | undefined;
}

export interface LayoutProps {
  title: string;
  children: Child;
  /** The search box's current text, echoed back escaped by JSX. */
  q?: string | undefined;
  description?: string;
  /** Page scripts beyond app.js (our own, with SRI), e.g. the account pages' script. */
  scripts?: "account"[];
  /** The page's one URL for search engines (absolute, on PUBLIC_ORIGIN). */
  canonical?: string | undefined;
  /** Keep the page out of search results (searches, error pages). */
  noindex?: boolean;
  og?: OpenGraph | undefined;
  /** schema.org structured data, e.g. a Product with its offer. */
  jsonLd?: Record<string, unknown> | undefined;
}

/** JSON for a <script type="application/ld+json"> block: `<` escaped so no text can close the element. */
function jsonLdText(data: Record<string, unknown>): string {
  return JSON.stringify(data).replace(/</g, "\\u003c");
}

/**
 * The page shell: our own stylesheet and script, both pinned with SRI (M-004, T03). Starts with
 * the doctype, so every page renders in standards mode.
 */
export function Layout(props: LayoutProps) {
  // The shop's own name, logo, colours and footer (its settings, read once per request: decision 024).
  const shop = currentShopSettings();
  const title = props.title === shop.shopName ? shop.shopName : `${props.title} · ${shop.shopName}`;
  const description = props.description ?? `${shop.shopName}: ${shop.heroText || shop.heroTitle}`;
  // Staff pages (served in a staff time zone, src/web/dates.tsx) carry the script that reports the browser's zone.
  const zone = staffZone();
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en" data-staff-tz={zone ?? undefined}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{title}</title>
          <meta name="description" content={description} />
          {props.noindex ? <meta name="robots" content="noindex" /> : null}
          {props.canonical ? <link rel="canonical" href={props.canonical} /> : null}
          {props.og ? (
            <>
              <meta property="og:site_name" content={shop.shopName} />
              <meta property="og:type" content={props.og.type} />
              <meta property="og:title" content={props.title} />
              <meta property="og:description" content={description} />
              <meta property="og:url" content={props.og.url} />
              {props.og.image ? <meta property="og:image" content={props.og.image} /> : null}
            </>
          ) : null}
          {props.jsonLd ? <script type="application/ld+json" dangerouslySetInnerHTML={{ __html: jsonLdText(props.jsonLd) }}></script> : null}
          <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
          <link rel="stylesheet" href={ASSETS.css.path} integrity={ASSETS.css.integrity} crossorigin="anonymous" />
          {shop.theme ? <link rel="stylesheet" href={shop.theme.path} integrity={shop.theme.integrity} crossorigin="anonymous" /> : null}
          <script src={ASSETS.js.path} integrity={ASSETS.js.integrity} crossorigin="anonymous" defer></script>
          {zone ? <script src={ASSETS.staff.path} integrity={ASSETS.staff.integrity} crossorigin="anonymous" defer></script> : null}
          {(props.scripts ?? []).map((name) => (
            <script src={ASSETS[name].path} integrity={ASSETS[name].integrity} crossorigin="anonymous" defer></script>
          ))}
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="site-header">
            <div class="wrap header-row">
              <a class="brand" href="/" aria-label={`${shop.shopName} home`}>
                {shop.logoUrl ? <img class="brand-logo" src={shop.logoUrl} alt="" height="32" /> : <img src="/favicon.svg" alt="" width="28" height="28" />}
                <span>{shop.shopName}</span>
              </a>
              {/* biome-ignore lint/a11y/useSemanticElements: the form is the search landmark; <search> is too recent for every browser we serve */}
              <form class="search" action="/" method="get" role="search">
                <label class="visually-hidden" for="search-q">
                  Search products
                </label>
                <input id="search-q" name="q" type="search" placeholder="Search products" value={props.q ?? ""} maxlength={200} />
                <button type="submit">Search</button>
              </form>
              <nav class="nav" aria-label="Account">
                <a href="/cart" class="nav-cart">
                  Cart <span class="badge" data-cart-count hidden></span>
                </a>
                <a href="/account" data-account-link>
                  Account
                </a>
              </nav>
            </div>
          </header>
          <main id="main" class="wrap">
            {props.children}
          </main>
          <footer class="site-footer">
            <div class="wrap footer-row">
              <p>© {shop.shopName}. Payments by Stripe Checkout: your card details never touch our servers.</p>
              <nav aria-label="Shop information">
                <ul class="footer-links">
                  {shop.footerLinks.map((link) => (
                    <li>
                      <a href={link.href}>{link.label}</a>
                    </li>
                  ))}
                  <li>
                    <a href="/shipping">Shipping</a>
                  </li>
                  <li>
                    <a href="/returns">Returns</a>
                  </li>
                  <li>
                    <a href="/privacy">Privacy</a>
                  </li>
                  <li>
                    <a href="/terms">Terms</a>
                  </li>
                  <li>
                    <a href="/contact">Contact</a>
                  </li>
                  <li>
                    <a href="/security">Security</a>
                  </li>
                  <li>
                    <a href="/api/docs">API</a>
                  </li>
                </ul>
              </nav>
            </div>
          </footer>
        </body>
      </html>
    </>
  );
}
