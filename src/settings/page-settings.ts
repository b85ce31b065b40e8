import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../platform/app-env";
import { DEFAULT_LOCALE, matchLocale, withLocale } from "../platform/locale";
import { readShopSettings, withShopSettings } from "./shop-settings";

/** Requests that never render a page: the API, static files, images, probes. */
const NO_PAGE = /^\/(?:api\/|assets\/|media\/|images\/|cdn-cgi\/|favicon\.svg$|healthz$|readyz$)/;

/**
 * Every page request runs with the shop's settings (the layout reads them while it renders),
 * read through the one cached function; a shopper whose Accept-Language names none of the
 * supported locales gets the shop's default locale instead of en-US.
 */
export const shopSettingsForPages = createMiddleware<AppEnv>(async (c, next) => {
  if (NO_PAGE.test(c.req.path)) return next();
  const settings = await readShopSettings(c.env.DB);
  const run = () => withShopSettings(settings, next);
  const wantsDefault = settings.defaultLocale !== DEFAULT_LOCALE && matchLocale(c.req.header("accept-language")) === null;
  return wantsDefault ? withLocale(settings.defaultLocale, run) : run();
});
