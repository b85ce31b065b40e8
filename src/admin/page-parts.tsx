import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { formatMoney } from "../web/format";

/** Pieces every staff page shares (each page module is named by what it manages: `*-pages.tsx`). */

/** The staff navigation: every staff page links to every other one it may open. */
export function StaffNav() {
  return (
    <nav aria-label="Staff">
      <a href="/admin">Dashboard</a> · <a href="/admin/orders">Orders</a> · <a href="/admin/returns">Returns</a> · <a href="/admin/products">Products</a> ·{" "}
      <a href="/admin/product-imports">Import / export</a> · <a href="/admin/coupons">Coupons</a> · <a href="/admin/promotions">Promotions</a> ·{" "}
      <a href="/admin/stray-payments">Stray payments</a> · <a href="/admin/shipping-rates">Shipping</a> · <a href="/admin/users">Users</a> ·{" "}
      <a href="/admin/integrations">Integrations</a> · <a href="/admin/settings">Settings</a> · <a href="/admin/audit">Audit log</a>
    </nav>
  );
}

export function money(cents: number | null, currency: string | null): string {
  return cents === null ? "" : formatMoney(cents, currency ?? "USD");
}

/** A refusal from the shared functions, shown on the page instead of the generic error page. */
export function refusalOf(error: unknown): { status: ContentfulStatusCode; message: string } {
  if (error instanceof ProblemError && error.status < 500) return { status: error.status, message: error.detail ?? error.code };
  throw error;
}

export function Alert(props: { message?: string | undefined }) {
  return props.message ? <p role="alert">{props.message}</p> : null;
}

/** Query parameters without the blanks a GET form sends for empty fields. */
export function filledQuery(c: Context<AppEnv>): Record<string, string> {
  return Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v.trim() !== ""));
}
