import { createRoute, z } from "@hono/zod-openapi";
import { renderSVG } from "uqr";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { requireUser } from "./session";

const QrBody = z.object({ totpURI: z.string().startsWith("otpauth://totp/").max(512) }).openapi("TotpQrRequest");

const totpQrRoute = createRoute({
  method: "post",
  path: "/me/totp-qr",
  operationId: "drawTotpQrCode",
  ...access.signedIn,
  tags: ["Accounts"],
  summary: "Draw the authenticator key just given by enableTotp as an SVG QR code (drawn here, so the key never reaches a third party)",
  request: { body: { required: true, content: { "application/json": { schema: QrBody } } } },
  responses: {
    200: { description: "The QR code", content: { "application/json": { schema: z.object({ svg: z.string() }).openapi("TotpQr") } } },
    401: problemResponseSpec("Not signed in (`unauthenticated`)"),
    422: problemResponseSpec("`validation_failed`: totpURI must be an otpauth://totp/ URI"),
  },
});

/** POST /api/me/totp-qr: the account page's QR code of a new authenticator key. */
export const accountQrApi = createApiApp().openapi(totpQrRoute, async (c) => {
  await requireUser(c);
  return c.json({ svg: renderSVG(c.req.valid("json").totpURI) }, 200);
});
