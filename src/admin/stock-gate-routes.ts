import { createRoute, z } from "@hono/zod-openapi";
import { ProblemError } from "../platform/problem";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { reconcileVariant } from "../stock-gate/reconcile";
import { actorOf } from "./guard";
import { guarded, jsonContent } from "./staff-api";

const GateCheckSchema = z
  .object({
    variantId: z.string(),
    d1Stock: z.number().int().openapi({ description: "Sellable stock in D1, the book of record" }),
    gateUnits: z.number().int().openapi({ description: "Units the stock gate's shards held when checked" }),
    drift: z.number().int().openapi({ description: "d1Stock − gateUnits: > 0 the gate would sell too little, < 0 too much (D1's CHECK refuses the rest)" }),
    recovered: z.number().int().openapi({ description: "Units given back for holds of orders D1 closed unpaid or never wrote" }),
    busy: z.boolean().openapi({ description: "The variant was selling while checked: nothing was compared; ask again" }),
    repaired: z.boolean().openapi({ description: "The drift was repaired (audited as stock_gate.repaired)" }),
  })
  .openapi("StockGateCheck");

const reconcileRoute = createRoute({
  method: "post",
  path: "/admin/variants/{variantId}/stock-gate/reconcile",
  operationId: "adminReconcileStockGate",
  tags: ["Staff"],
  summary: "Check a variant's stock gate against D1 and repair any drift (admin)",
  description:
    "D1's sellable stock is the book of record (decision 028). The gate's units are compared with it at a moment when neither moves; a drift is repaired on the gate and audited as `stock_gate.repaired`. `busy: true`: the variant was selling; nothing was compared.",
  request: { params: z.object({ variantId: z.string().min(1).max(100) }) },
  responses: {
    200: { description: "What the check found and did", content: jsonContent(GateCheckSchema) },
    404: problemResponseSpec("`variant_not_found`"),
    ...guarded,
  },
});

/** Staff API for the stock gate (admin only, src/admin/guard.ts). */
export const stockGateApi = createApiApp();

stockGateApi.openapi(reconcileRoute, async (c) => {
  const check = await reconcileVariant(c.env, c.req.valid("param").variantId, { actor: actorOf(c).id, repair: true });
  if (!check) throw new ProblemError(404, "variant_not_found", "There is no such variant.");
  return c.json(check, 200);
});
