import { zValidator } from "@hono/zod-validator";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { MAX_IMAGE_BYTES, readLimited, storeProductImage } from "../catalog/images";
import type { ProductImageRow } from "../catalog/schema";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { clientIp, staffUser } from "./guard";
import { AltText } from "./product-form";
import { addProductImage, editProductImage } from "./product-images";

/** Room for the multipart framing and the other fields around a largest image. */
const FORM_OVERHEAD = 64 * 1024;

const MESSAGES: Record<string, string> = {
  image_too_large: "That file is over 5 MiB: export a smaller image.",
  unsupported_image_type: "That file is not a PNG, JPEG, GIF, WebP or AVIF image (SVG and documents are refused).",
  image_missing: "Choose an image file first.",
  too_many_images: "A product has at most 20 images: remove one first.",
  image_not_found: "That image is no longer on this product.",
  validation_failed: "The alt text is at most 300 characters.",
};

/** Words for an image refusal's code (the product page shows them). */
export function imageMessage(code: string): string {
  return MESSAGES[code] ?? "The upload failed.";
}

/**
 * A staff form that may carry an image (multipart), read with the body capped at the largest
 * image plus its framing: "image_too_large" when it is longer (nothing stored), else the form.
 */
export async function readImageForm(c: Context<AppEnv>): Promise<FormData | "image_too_large"> {
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  if (declared > MAX_IMAGE_BYTES + FORM_OVERHEAD) return "image_too_large";
  const raw = await readLimited(c.req.raw.body, MAX_IMAGE_BYTES + FORM_OVERHEAD);
  if (raw === null) return "image_too_large";
  const form = await new Request(c.req.url, { method: "POST", headers: { "content-type": c.req.header("content-type") ?? "" }, body: raw })
    .formData()
    .catch(() => null);
  return form ?? new FormData();
}

/**
 * Stores the form's `image` file in R2 (src/catalog/images.ts: type from the bytes, size capped):
 * its URL, or null when no file was chosen. Throws the store's ProblemError (413, 415).
 */
export async function storeFormImage(bucket: R2Bucket, file: string | File | null): Promise<string | null> {
  if (!file || typeof file === "string" || file.size === 0) return null;
  return (await storeProductImage(bucket, new Uint8Array(await file.arrayBuffer()))).url;
}

/** The product page's images: each with its alt text, moved up or down, removed; and a form to add one. */
export function ImagesSection(props: { productId: string; images: ProductImageRow[]; error?: string | undefined }) {
  const base = `/admin/products/${encodeURIComponent(props.productId)}`;
  return (
    <section aria-labelledby="images-title">
      <h2 id="images-title">Images</h2>
      {props.error ? (
        <p class="form-message error" role="alert">
          {imageMessage(props.error)}
        </p>
      ) : null}
      {props.images.length === 0 ? <p class="hint">No images yet.</p> : null}
      <ol class="image-list">
        {props.images.map((image, i) => {
          const action = `${base}/images/${encodeURIComponent(image.id)}`;
          return (
            <li>
              <img src={image.url} alt={image.alt} width="120" height="90" loading="lazy" decoding="async" />
              <span class="hint">{i === 0 ? "Main image" : `Image ${i + 1}`}</span>
              <form method="post" action={action} class="stack">
                <input type="hidden" name="action" value="alt" />
                <label>
                  Alt text <input name="alt" maxlength={300} value={image.alt} />
                </label>
                <button type="submit">Save alt text</button>
              </form>
              <div class="inline-form">
                {i > 0 ? (
                  <form method="post" action={action}>
                    <input type="hidden" name="action" value="up" />
                    <button type="submit">Move up</button>
                  </form>
                ) : null}
                {i < props.images.length - 1 ? (
                  <form method="post" action={action}>
                    <input type="hidden" name="action" value="down" />
                    <button type="submit">Move down</button>
                  </form>
                ) : null}
                <form method="post" action={action}>
                  <input type="hidden" name="action" value="remove" />
                  <button type="submit" class="secondary">
                    Remove
                  </button>
                </form>
              </div>
            </li>
          );
        })}
      </ol>
      <form class="stack" method="post" action={`${base}/image`} enctype="multipart/form-data">
        <label>
          Add an image (PNG, JPEG, GIF, WebP or AVIF, at most 5 MiB){" "}
          <input type="file" name="image" accept="image/png,image/jpeg,image/gif,image/webp,image/avif" required />
        </label>
        <label>
          Alt text (what the image shows) <input name="alt" maxlength={300} />
        </label>
        <button type="submit">Upload and add</button>
      </form>
    </section>
  );
}

const ImageEditForm = z.discriminatedUnion("action", [
  z.object({ action: z.literal("alt"), alt: AltText }),
  z.object({ action: z.enum(["up", "down", "remove"]) }),
]);

/**
 * POST /admin/products/:id/image: stores an upload and adds it after the product's images (the
 * first becomes the main image). POST /admin/products/:id/images/:imageId: alt text, order, removal.
 * Every change is audited (src/admin/product-images.ts).
 */
export const imagePages = new Hono<AppEnv>()
  .post("/admin/products/:id/image", async (c) => {
    const id = c.req.param("id");
    const back = (error?: string) => c.redirect(`/admin/products/${encodeURIComponent(id)}${error ? `?image_error=${error}` : ""}`, 303);
    const form = await readImageForm(c);
    if (form === "image_too_large") return back(form);
    const alt = AltText.safeParse(form.get("alt") ?? "");
    if (!alt.success) return back("validation_failed");
    try {
      const url = await storeFormImage(c.env.PRODUCT_IMAGES, form.get("image"));
      if (!url) return back("image_missing");
      await addProductImage(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, id, { url, alt: alt.data });
    } catch (error) {
      if (error instanceof ProblemError && error.status !== 404) return back(error.code);
      throw error;
    }
    return back();
  })
  .post(
    "/admin/products/:id/images/:imageId",
    zValidator("form", ImageEditForm, (result, c) => {
      if (!result.success) return c.redirect(`/admin/products/${encodeURIComponent(c.req.param("id") ?? "")}?image_error=validation_failed`, 303);
    }),
    async (c) => {
      const id = c.req.param("id");
      const body = c.req.valid("form");
      const edit =
        body.action === "alt"
          ? { kind: "alt" as const, alt: body.alt }
          : body.action === "remove"
            ? { kind: "remove" as const }
            : { kind: "move" as const, direction: body.action };
      try {
        await editProductImage(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, id, c.req.param("imageId"), edit);
      } catch (error) {
        if (error instanceof ProblemError && error.code === "image_not_found")
          return c.redirect(`/admin/products/${encodeURIComponent(id)}?image_error=image_not_found`, 303);
        throw error;
      }
      return c.redirect(`/admin/products/${encodeURIComponent(id)}`, 303);
    },
  );
