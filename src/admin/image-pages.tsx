import { Hono } from "hono";
import { MAX_IMAGE_BYTES, readLimited, storeProductImage } from "../catalog/images";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { clientIp, staffUser } from "./guard";
import { updateProductAudited } from "./products";

/** Room for the multipart framing around a largest image. */
const FORM_OVERHEAD = 64 * 1024;

const MESSAGES: Record<string, string> = {
  image_too_large: "That file is over 5 MiB: export a smaller image.",
  unsupported_image_type: "That file is not a PNG, JPEG, GIF, WebP or AVIF image (SVG and documents are refused).",
  image_missing: "Choose an image file first.",
};

/** The product page's upload form (a form of its own: forms cannot nest). */
export function ImageUploadForm(props: { productId: string; error?: string | undefined }) {
  const message = props.error ? (MESSAGES[props.error] ?? "The upload failed.") : null;
  return (
    <form class="stack" method="post" action={`/admin/products/${encodeURIComponent(props.productId)}/image`} enctype="multipart/form-data">
      <h2>Image</h2>
      {message ? (
        <p class="form-message error" role="alert">
          {message}
        </p>
      ) : null}
      <label>
        Upload an image (PNG, JPEG, GIF, WebP or AVIF, at most 5 MiB){" "}
        <input type="file" name="image" accept="image/png,image/jpeg,image/gif,image/webp,image/avif" required />
      </label>
      <button type="submit">Upload and use for this product</button>
    </form>
  );
}

/**
 * POST /admin/products/:id/image: stores the upload (src/catalog/images.ts: type from the bytes,
 * size capped) and makes it the product's image through the same audited update as the API.
 */
export const imagePages = new Hono<AppEnv>().post("/admin/products/:id/image", async (c) => {
  const id = c.req.param("id");
  const back = (error?: string) => c.redirect(`/admin/products/${encodeURIComponent(id)}${error ? `?image_error=${error}` : ""}`, 303);
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  if (declared > MAX_IMAGE_BYTES + FORM_OVERHEAD) return back("image_too_large");
  const raw = await readLimited(c.req.raw.body, MAX_IMAGE_BYTES + FORM_OVERHEAD);
  if (raw === null) return back("image_too_large");
  const form = await new Request(c.req.url, { method: "POST", headers: { "content-type": c.req.header("content-type") ?? "" }, body: raw })
    .formData()
    .catch(() => null);
  const file = form?.get("image");
  if (!file || typeof file === "string" || file.size === 0) return back("image_missing");
  let url: string;
  try {
    url = (await storeProductImage(c.env.PRODUCT_IMAGES, new Uint8Array(await file.arrayBuffer()))).url;
  } catch (error) {
    if (error instanceof ProblemError) return back(error.code);
    throw error;
  }
  const after = await updateProductAudited(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, id, { imageUrl: url });
  if (!after) throw new ProblemError(404, "product_not_found", "No product has this id.");
  return back();
});
