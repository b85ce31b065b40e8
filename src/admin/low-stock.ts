import { and, eq, isNull, sql } from "drizzle-orm";
import { user } from "../accounts/schema";
import { lowStockAlerts, products, productVariants } from "../catalog/schema";
import { optionsAndVariantsOf, optionsLabel, optionsRecord } from "../catalog/variants";
import { getDb } from "../db/client";
import { enqueueMailSafely } from "../mail/mail";

// Low stock (decision 025): the inventory ledger's trigger writes one unmailed alert per variant
// when its sellable stock crosses its threshold; this mails the staff who manage the catalog
// (every admin) and marks the alert mailed. It runs after a checkout and from the cron; an alert
// is claimed by one conditional UPDATE first, so two runs at once never mail it twice.

/** Alerts mailed per run (a cron run picks up whatever is left). */
const ALERTS_PER_RUN = 50;

/** Mails staff about every unmailed low-stock alert; returns how many were mailed. */
export async function mailLowStockAlerts(env: Env): Promise<number> {
  const db = getDb(env.DB);
  const pending = await db
    .select({
      alert: lowStockAlerts,
      name: products.name,
      sku: productVariants.sku,
      option1: productVariants.option1,
      option2: productVariants.option2,
      option3: productVariants.option3,
    })
    .from(lowStockAlerts)
    .leftJoin(productVariants, eq(productVariants.id, lowStockAlerts.variantId))
    .leftJoin(products, eq(products.id, lowStockAlerts.productId))
    .where(isNull(lowStockAlerts.mailedAt))
    .limit(ALERTS_PER_RUN);
  if (pending.length === 0) return 0;
  const staff = await db
    .select({ email: user.email })
    .from(user)
    .where(and(eq(user.role, "admin"), sql`coalesce(${user.banned}, 0) = 0`));
  const options = await optionsAndVariantsOf(
    db,
    pending.map((p) => p.alert.productId),
  );
  let mailed = 0;
  for (const p of pending) {
    // Claim it: only the run whose UPDATE changed the row mails.
    const claimed = await db
      .update(lowStockAlerts)
      .set({ mailedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))` })
      .where(and(eq(lowStockAlerts.id, p.alert.id), isNull(lowStockAlerts.mailedAt)))
      .returning({ id: lowStockAlerts.id });
    if (claimed.length === 0) continue;
    const values = optionsLabel(
      optionsRecord(options.get(p.alert.productId)?.options ?? [], { option1: p.option1 ?? "", option2: p.option2 ?? "", option3: p.option3 ?? "" }),
    );
    const what = `${p.name ?? p.alert.productId}${values ? ` (${values})` : ""}${p.sku ? `, SKU ${p.sku}` : ""}`;
    for (const s of staff) {
      await enqueueMailSafely(env, {
        to: s.email,
        subject: `Low stock: ${what}`.slice(0, 200),
        text: `${what} is down to ${p.alert.stock} sellable (the threshold is ${p.alert.threshold}).\n\nRestock it on the product's staff page.`,
        key: `low-stock:${p.alert.id}:${s.email}`,
      });
    }
    mailed += 1;
  }
  return mailed;
}
