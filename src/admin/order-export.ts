import { and, desc } from "drizzle-orm";
import { orders } from "../checkout/schema";
import type { Database } from "../db/client";
import { paymentStateOf } from "../checkout/orders";
import { decimalAmount } from "../web/format";
import { searchFilters, summaryQuery, type OrderSearchQuery } from "./order-search";

/** At most this many orders per export (a month of a small shop; filter by dates for more). */
export const EXPORT_LIMIT = 5000;

/**
 * One CSV cell that no spreadsheet runs as a formula (OWASP "CSV Injection"): a value starting
 * with = + - @, a tab or a carriage return is prefixed with a single quote, and every cell is
 * quoted with its quotes doubled, so a separator or line break inside stays inside.
 */
export function csvCell(value: string | number | null): string {
  const text = value === null ? "" : String(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replaceAll('"', '""')}"`;
}

const HEADER = ["number", "id", "created_at", "paid_at", "payment", "fulfilment", "customer_email", "customer_name", "currency", "total", "refunded", "coupon"];

/** The orders a search finds, newest first, as CSV (RFC 4180, CRLF line ends). */
export async function ordersCsv(db: Database, query: Omit<OrderSearchQuery, "cursor" | "limit">): Promise<string> {
  const filters = await searchFilters(db, query);
  const rows = filters
    ? await summaryQuery(db)
        .where(filters.length ? and(...filters) : undefined)
        .orderBy(desc(orders.createdAt), desc(orders.id))
        .limit(EXPORT_LIMIT)
    : [];
  const lines = [HEADER.map(csvCell).join(",")];
  for (const r of rows) {
    lines.push(
      [
        r.number,
        r.id,
        r.createdAt,
        r.paidAt,
        paymentStateOf(r),
        r.fulfilment,
        r.customerEmail,
        r.customerName,
        r.currency,
        decimalAmount(r.totalCents, r.currency),
        decimalAmount(r.refundedCents, r.currency),
        r.couponCode,
      ]
        .map(csvCell)
        .join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}
