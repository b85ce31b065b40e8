import { currentShopSettings } from "../settings/shop-settings";
import { ASSETS } from "./asset-manifest";

/**
 * Browsers revalidate every shared page (a 304 when its ETag still matches), so a staff change is
 * seen on the next load; the page cache behind them does the sharing.
 */
export const PAGE_CACHE_CONTROL = "public, max-age=0, must-revalidate";
/** The build's stylesheet and script, in every page's cache key: a deploy never serves pages naming old assets. */
export const PAGE_BUILD = `${ASSETS.css.path}${ASSETS.js.path}`.replace(/[^a-zA-Z0-9]/g, "");

/**
 * The start of every shared page's key: the build, the image mode and the shop settings' version,
 * so a settings change is a new key for every page (decision 024): nothing stale is served, nothing purged.
 */
export function sharedPageKey(resizing: boolean): string {
  return `${PAGE_BUILD}${resizing ? "+rs" : ""}~${currentShopSettings().version}`;
}
