import { createRoute, z } from "@hono/zod-openapi";
import { recordAudit } from "../audit/audit";
import { MAX_IMAGE_BYTES, readLimited, storeProductImage } from "../catalog/images";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { clientIp, describeStaffAccess, staffGuard, staffUser } from "./guard";

const binary = { schema: z.string().openapi({ type: "string", format: "binary" }) };

const uploadImageRoute = createRoute({
  method: "post",
  path: "/admin/images",
  operationId: "adminUploadImage",
  tags: ["Staff"],
  summary: "Upload a product image (admin): PNG, JPEG, GIF, WebP or AVIF, at most 5 MiB; answers its URL on this shop",
  description:
    "The body is the image's bytes. Its type is read from the bytes themselves, not from the name or Content-Type: SVG, HTML and " +
    "other documents are refused. The URL names the content hash, so the same image is stored once and cached for a year. " +
    "Set it as a product's `imageUrl` with adminUpdateProduct.",
  request: {
    body: {
      required: true,
      content: {
        "image/png": binary,
        "image/jpeg": binary,
        "image/gif": binary,
        "image/webp": binary,
        "image/avif": binary,
        "application/octet-stream": binary,
      },
    },
  },
  responses: {
    201: {
      description: "Stored",
      content: {
        "application/json": {
          schema: z.object({ url: z.string(), contentType: z.string(), bytes: z.number().int() }).openapi("UploadedImage"),
        },
      },
    },
    401: problemResponseSpec("Not signed in"),
    403: problemResponseSpec("Not allowed for this role, or second factor missing"),
    413: problemResponseSpec("`image_too_large`: over 5 MiB"),
    415: problemResponseSpec("`unsupported_image_type`: not a PNG, JPEG, GIF, WebP or AVIF image"),
  },
});

/** Staff image uploads (the one /api route whose body is not JSON: the JSON body guard skips it). */
export const adminImagesApi = createApiApp();
adminImagesApi.use("/admin/images", staffGuard);
adminImagesApi.openapi(uploadImageRoute, async (c) => {
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  if (declared > MAX_IMAGE_BYTES) throw new ProblemError(413, "image_too_large", "Images are limited to 5 MiB.");
  const stored = await storeProductImage(c.env.PRODUCT_IMAGES, await readLimited(c.req.raw.body, MAX_IMAGE_BYTES));
  const staff = staffUser(c);
  await recordAudit(c.env, {
    actor: staff.id,
    ip: clientIp(c),
    action: "image.uploaded",
    subject: stored.url,
    detail: { contentType: stored.contentType, bytes: stored.bytes },
  });
  return c.json(stored, 201);
});

describeStaffAccess(adminImagesApi);

/** The API paths whose bodies are not JSON (the JSON body guard leaves them to their route). */
export const RAW_BODY_PATHS: readonly string[] = ["/api/admin/images", "/api/admin/product-imports"];
