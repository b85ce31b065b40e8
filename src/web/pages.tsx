import type { Product } from "../catalog/queries";
import { htmlToText, sanitiseHtml } from "../catalog/html-sanitiser";
import { raw } from "hono/html";
import { decimalAmount, formatMoney } from "./format";
import type { CatalogSort, CursorSort } from "../catalog/queries";
import { currentShopSettings } from "../settings/shop-settings";
import { Layout } from "./layout";
import type { VariantChoice } from "../catalog/variants";
import { AddToCartForm, VariantSummary } from "./variant-picker";

/** Widths a resized product image comes in (Cloudflare Image Transformations), for `srcset`. */
const IMAGE_WIDTHS = [320, 480, 640, 960, 1280] as const;

/**
 * A product image. An uploaded raster (/media/…) gets a `srcset` of sizes made by Cloudflare Image
 * Transformations on our own origin (`/cdn-cgi/image/…`, so the CSP stays `img-src 'self'`) when
 * IMAGE_RESIZING=cloudflare; otherwise, and for the shipped SVGs (which scale by themselves), one
 * file. Width and height are always given, so the page never jumps while images load.
 */
export function ProductImage(props: { src: string; alt: string; width: number; height: number; sizes: string; resizing: boolean; lazy?: boolean }) {
  const resized = props.resizing && props.src.startsWith("/media/");
  const srcset = resized ? IMAGE_WIDTHS.map((w) => `/cdn-cgi/image/width=${w},fit=scale-down,format=auto${props.src} ${w}w`).join(", ") : undefined;
  return (
    <img
      src={props.src}
      alt={props.alt}
      width={String(props.width)}
      height={String(props.height)}
      srcset={srcset}
      sizes={resized ? props.sizes : undefined}
      loading={props.lazy ? "lazy" : undefined}
      decoding="async"
    />
  );
}

function ProductCard({ product, resizing }: { product: Product; resizing: boolean }) {
  return (
    <li class="card">
      <a href={`/products/${product.slug}`} class="card-link">
        <div class="card-media">
          {product.imageUrl ? (
            <ProductImage
              src={product.imageUrl}
              alt=""
              width={480}
              height={360}
              sizes="(max-width: 600px) 100vw, (max-width: 1000px) 50vw, 300px"
              resizing={resizing}
              lazy
            />
          ) : (
            <div class="placeholder" aria-hidden="true"></div>
          )}
        </div>
        <div class="card-body">
          <h2 class="card-title">{product.name}</h2>
          <p class="card-price">
            {/* A product whose variants cost different amounts shows its lowest: "From $28.00". */}
            {new Set(product.variants.map((v) => v.priceCents)).size > 1 ? "From " : ""}
            {formatMoney(product.priceCents, product.currency)}
          </p>
          {product.inStock ? null : <p class="stock out">Out of stock</p>}
        </div>
      </a>
    </li>
  );
}

/** What a catalog page shows: the filters, this page's products and where the list goes on. */
export interface CatalogView {
  items: Product[];
  q: string | undefined;
  category: string | undefined;
  sort: CursorSort | undefined;
  nextCursor: string | null;
  total: number;
  offset: number;
  categories: { category: string; count: number }[];
  origin: string;
  /** IMAGE_RESIZING=cloudflare: uploaded images come in several sizes. */
  resizing: boolean;
}

const SORT_LABELS: Record<CatalogSort, string> = {
  name: "Name",
  "price-asc": "Price: low to high",
  "price-desc": "Price: high to low",
  newest: "Newest",
};

/** A catalog address with these filters (empty ones left out, so equal views share a cache key). */
function catalogHref(v: { q?: string | undefined; category?: string | undefined; sort?: CursorSort | undefined; cursor?: string | undefined }): string {
  const params = new URLSearchParams();
  if (v.q) params.set("q", v.q);
  if (v.category) params.set("category", v.category);
  // A search's default order is relevance, a listing's is by name.
  if (v.sort && v.sort !== (v.q ? "relevance" : "name")) params.set("sort", v.sort);
  if (v.cursor) params.set("cursor", v.cursor);
  const query = params.toString();
  return query ? `/?${query}` : "/";
}

const categoryLabel = (category: string) => category.charAt(0).toUpperCase() + category.slice(1).replaceAll("-", " ");

/** Home page: the catalog grid with categories, search, sort, a result count and cursor paging. */
export function CatalogPage(props: CatalogView) {
  const { items, q, category, sort, nextCursor, total, offset } = props;
  const filters = { q, category, sort };
  const nextHref = nextCursor ? catalogHref({ ...filters, cursor: nextCursor }) : null;
  const isFirstPage = offset === 0;
  // Searches, filters and later pages stay out of search engines; the catalog's first page is the shop's home.
  const home = `${props.origin}/`;
  const plain = !q && !category && (!sort || sort === "name") && isFirstPage;
  const shop = currentShopSettings();
  const title = q ? `Search: ${q}` : category ? categoryLabel(category) : shop.shopName;
  return (
    <Layout
      title={title}
      q={q}
      noindex={!plain && !(category && isFirstPage && !q)}
      canonical={plain ? home : category && !q ? `${props.origin}${catalogHref({ category })}` : undefined}
      og={plain ? { type: "website", url: home, image: `${props.origin}${shop.logoUrl ?? "/favicon.svg"}` } : undefined}
    >
      {q ? (
        <h1 class="page-title">Results for “{q}”</h1>
      ) : category ? (
        <h1 class="page-title">{categoryLabel(category)}</h1>
      ) : (
        <section class="hero">
          <h1>{shop.heroTitle}</h1>
          {shop.heroText ? <p>{shop.heroText}</p> : null}
        </section>
      )}
      {props.categories.length > 0 ? (
        <nav class="categories" aria-label="Categories">
          <a href={catalogHref({ q, sort })} aria-current={category ? undefined : "page"}>
            All
          </a>
          {props.categories.map((c) => (
            <a href={catalogHref({ q, sort, category: c.category })} aria-current={c.category === category ? "page" : undefined}>
              {categoryLabel(c.category)} <span class="muted">({c.count})</span>
            </a>
          ))}
        </nav>
      ) : null}
      <div class="catalog-toolbar">
        <p data-result-count>
          {total === 0 ? "No products" : total === 1 ? "1 product" : `${total} products`}
          {total > items.length && items.length > 0 ? ` · showing ${offset + 1}–${offset + items.length}` : ""}
        </p>
        <form method="get" action="/" class="sort-form">
          {q ? <input type="hidden" name="q" value={q} /> : null}
          {category ? <input type="hidden" name="category" value={category} /> : null}
          <label for="sort">Sort by</label>
          <select id="sort" name="sort">
            {q ? (
              <option value="relevance" selected={(sort ?? "relevance") === "relevance"}>
                Best match
              </option>
            ) : null}
            {(Object.keys(SORT_LABELS) as CatalogSort[]).map((key) => (
              <option value={key} selected={(sort ?? (q ? "relevance" : "name")) === key}>
                {SORT_LABELS[key]}
              </option>
            ))}
          </select>
          <button type="submit" class="secondary">
            Sort
          </button>
        </form>
      </div>
      {items.length === 0 ? (
        <div class="empty">
          <p>No products match {q ? <strong>“{q}”</strong> : "yet"}.</p>
          <p>
            <a href="/">See everything</a>
          </p>
        </div>
      ) : (
        <ul class="grid" aria-label="Products">
          {items.map((p) => (
            <ProductCard product={p} resizing={props.resizing} />
          ))}
        </ul>
      )}
      <nav class="pager" aria-label="Pages">
        {isFirstPage ? null : (
          <a href={catalogHref(filters)} rel="first">
            ← First page
          </a>
        )}
        {nextHref ? (
          <a href={nextHref} rel="next">
            Next page →
          </a>
        ) : null}
      </nav>
    </Layout>
  );
}

/** A shipping rate as a product page lists it: when it arrives and what it costs (for this product alone). */
export interface DeliveryOption {
  name: string;
  estimate: string | null;
  price: string;
}

/** Product detail page: the chosen variant's price and availability, a select per option, delivery estimates. */
export function ProductPage(props: { product: Product; origin: string; resizing: boolean; choice: VariantChoice; delivery: DeliveryOption[] }) {
  const { product, origin, resizing, choice, delivery } = props;
  const url = `${origin}/products/${product.slug}`;
  const chosen = choice.variant;
  const imageUrl = chosen?.imageUrl ?? product.imageUrl;
  // A variant's own image leads; the product's images follow (the main one among the thumbnails then).
  const mainAlt = product.images.find((i) => i.url === imageUrl)?.alt || product.name;
  const thumbnails = product.images.filter((i) => i.url !== imageUrl);
  const image = imageUrl ? new URL(imageUrl, origin).href : undefined;
  const jsonLd = {
    "@context": "https://schema.org",
    "@type": "Product",
    name: product.name,
    description: htmlToText(product.description),
    sku: chosen?.sku ?? product.id,
    url,
    ...(image ? { image } : {}),
    offers: {
      "@type": "Offer",
      url,
      price: decimalAmount(chosen?.priceCents ?? product.priceCents, product.currency),
      priceCurrency: product.currency,
      availability: chosen?.inStock
        ? chosen.lowStock !== null
          ? "https://schema.org/LimitedAvailability"
          : "https://schema.org/InStock"
        : "https://schema.org/OutOfStock",
    },
  };
  return (
    <Layout
      title={product.name}
      description={htmlToText(product.description).slice(0, 160)}
      canonical={url}
      og={{ type: "product", url, image }}
      jsonLd={jsonLd}
    >
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/">Shop</a> / <span>{product.name}</span>
      </nav>
      <article class="product">
        <div class="product-media">
          {imageUrl ? (
            <ProductImage src={imageUrl} alt={mainAlt} width={960} height={720} sizes="(max-width: 800px) 100vw, 600px" resizing={resizing} />
          ) : (
            <div class="placeholder" />
          )}
          {thumbnails.length > 0 ? (
            // The other images: each opens full size (no script needed). Alt text is escaped like any text (P03).
            <ul class="product-thumbs" aria-label="More images">
              {thumbnails.map((image) => (
                <li>
                  <a href={image.url}>
                    <ProductImage src={image.url} alt={image.alt || product.name} width={96} height={72} sizes="96px" resizing={resizing} lazy />
                  </a>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
        <div class="product-info">
          <h1>{product.name}</h1>
          <VariantSummary product={product} choice={choice} />
          {/* Descriptions are HTML (Shopify's Body (HTML)): only the sanitiser's allow-list reaches the page (P03). */}
          <div class="description">{raw(sanitiseHtml(product.description))}</div>
          <AddToCartForm product={product} choice={choice} />
          {choice.variant?.inStock && delivery.length > 0 ? (
            <section class="delivery" aria-labelledby="delivery-title">
              <h2 id="delivery-title">Delivery</h2>
              <ul>
                {delivery.map((rate) => (
                  <li>
                    <strong>{rate.name}</strong>
                    {rate.estimate ? `: ${rate.estimate}` : ""} · {rate.price}
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
        </div>
      </article>
    </Layout>
  );
}

/** A plain message page for 404 and errors: never a stack trace. A 401 offers the sign-in page. */
export function MessagePage(props: { title: string; message: string; status: number }) {
  return (
    <Layout title={props.title} noindex>
      <section class="message">
        <p class="status-code">{props.status}</p>
        <h1>{props.title}</h1>
        <p>{props.message}</p>
        {props.status === 401 ? (
          <p>
            <a class="button" href="/sign-in">
              Sign in
            </a>{" "}
            <a href="/">Back to the shop</a>
          </p>
        ) : (
          <p>
            <a class="button" href="/">
              Back to the shop
            </a>
          </p>
        )}
      </section>
    </Layout>
  );
}
