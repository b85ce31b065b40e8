import { createRoute, z } from "@hono/zod-openapi";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { forgetShopSettings, readShopSettings } from "../settings/shop-settings";
import { saveShopSettingsAudited, SettingsInput, settingsDocument } from "../settings/settings-update";
import { clientIp, describeStaffAccess, staffGuard, staffUser } from "./guard";

const SettingsBody = SettingsInput.openapi("ShopSettingsInput");
const SettingsAnswer = SettingsInput.extend({ version: z.string(), updatedAt: z.string().nullable() }).openapi("ShopSettings");

const json = (schema: z.ZodType) => ({ "application/json": { schema } });
const refusals = {
  401: problemResponseSpec("Not signed in"),
  403: problemResponseSpec("Not an admin, or second factor missing"),
};

const getSettingsRoute = createRoute({
  method: "get",
  path: "/admin/settings",
  operationId: "adminGetSettings",
  tags: ["Staff"],
  summary: "The shop's settings (admin): name, logo, colours, hero, footer, contact, defaults, return window, policy pages",
  responses: { 200: { description: "Settings", content: json(SettingsAnswer) }, ...refusals },
});

const putSettingsRoute = createRoute({
  method: "put",
  path: "/admin/settings",
  operationId: "adminPutSettings",
  tags: ["Staff"],
  summary: "Replace the shop's settings (admin); audited with the changed fields",
  description:
    "The whole document, every field. Colours are `#rrggbb` with at least 4.5:1 contrast under white text (and, for the brand colour, on the page " +
    "background). Footer links are paths on this shop or https:, http:, mailto:, tel: URLs. `logoUrl` is an image uploaded with adminUploadImage. " +
    "Policies are Markdown (headings, paragraphs, lists, bold, italic, code, links); no HTML is ever passed through. Pages show the change on their next request.",
  request: { body: { required: true, content: { "application/json": { schema: SettingsBody } } } },
  responses: {
    200: { description: "Saved", content: json(SettingsAnswer) },
    ...refusals,
    422: problemResponseSpec(
      "`validation_failed` (shape, e.g. a colour that is not #rrggbb), `colour_contrast`, `unsafe_link`, `logo_not_found` or `currency_not_accepted`",
    ),
  },
});

/** Staff API: the shop's settings (src/settings owns them); admin only (rolesFor), every change audited before it is made. */
export const settingsApi = createApiApp();
settingsApi.use("/admin/settings", staffGuard);
settingsApi
  .openapi(getSettingsRoute, async (c) => {
    forgetShopSettings();
    const s = await readShopSettings(c.env.DB);
    return c.json({ ...settingsDocument(s), version: s.version, updatedAt: s.updatedAt }, 200);
  })
  .openapi(putSettingsRoute, async (c) => {
    const s = await saveShopSettingsAudited(c.env, c.var.config, { id: staffUser(c).id, ip: clientIp(c) }, c.req.valid("json"));
    return c.json({ ...settingsDocument(s), version: s.version, updatedAt: s.updatedAt }, 200);
  });
describeStaffAccess(settingsApi);
