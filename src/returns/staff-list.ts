import { desc, eq } from "drizzle-orm";
import { orders } from "../checkout/schema";
import { inList, type Database } from "../db/client";
import { returnViews, type ReturnView } from "./returns";
import { returnRequests, type ReturnStatus } from "./schema";

/** A return in staff's list, with what names its order. */
export interface StaffReturnItem extends ReturnView {
  order: { id: string; number: number | null; customerEmail: string | null; currency: string };
}

/** The newest returns (100 at most), of one status or all: the desk's queue, not an export. */
export async function listReturns(db: Database, status?: ReturnStatus): Promise<StaffReturnItem[]> {
  const ids = await db
    .select({ id: returnRequests.id })
    .from(returnRequests)
    .where(status ? eq(returnRequests.status, status) : undefined)
    .orderBy(desc(returnRequests.createdAt))
    .limit(100);
  const views = await returnViews(db, { ids: ids.map((r) => r.id) });
  const orderIds = [...new Set(views.map((v) => v.orderId))];
  const found = orderIds.length
    ? await db
        .select({ id: orders.id, number: orders.number, customerEmail: orders.customerEmail, currency: orders.currency })
        .from(orders)
        .where(inList(orders.id, orderIds))
    : [];
  const byId = new Map(found.map((o) => [o.id, o]));
  return views.map((v) => ({ ...v, order: byId.get(v.orderId) ?? { id: v.orderId, number: null, customerEmail: null, currency: "USD" } }));
}
