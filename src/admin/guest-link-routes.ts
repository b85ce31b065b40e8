import { createRoute, z } from "@hono/zod-openapi";
import { revokeGuestLinks } from "../checkout/orders";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { clientIp, describeStaffAccess, staffGuard, staffUser } from "./guard";

const revokeRoute = createRoute({
  method: "post",
  path: "/admin/orders/{id}/guest-links/revoke",
  operationId: "adminRevokeGuestLinks",
  tags: ["Staff"],
  summary: "Revoke every link and cookie that opens a guest order (admin); audited",
  description:
    "For a leaked receipt or a shopper's request: the order's key version moves on, so the links in its mails and the checkout answer, " +
    "and the cookies they were exchanged for, stop opening it at once. The order's next mail carries a new link. " +
    "An order that joined an account has no guest links (claiming revoked them).",
  request: { params: z.object({ id: z.string().min(1).max(100) }) },
  responses: {
    200: { description: "Revoked", content: { "application/json": { schema: z.object({ orderId: z.string(), revoked: z.literal(true) }) } } },
    401: problemResponseSpec("Not signed in"),
    403: problemResponseSpec("Not allowed for this role, or second factor missing"),
    404: problemResponseSpec("`order_not_found`: no such order, or not a guest's"),
  },
});

/** Staff API: revoking a guest order's links (src/checkout/guest-access.ts). */
export const guestLinksApi = createApiApp();
guestLinksApi.use("/admin/orders/*", staffGuard);
guestLinksApi.openapi(revokeRoute, async (c) => {
  const { id } = c.req.valid("param");
  const revoked = await revokeGuestLinks(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, id);
  if (!revoked) throw new ProblemError(404, "order_not_found", "No guest order has this id.");
  return c.json({ orderId: id, revoked: true as const }, 200);
});
describeStaffAccess(guestLinksApi);
