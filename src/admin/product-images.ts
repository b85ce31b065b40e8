import { and, eq, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { listProductImages, mainImageStatement, MAX_PRODUCT_IMAGES, newImageId } from "../catalog/product-images";
import { productImages } from "../catalog/schema";
import type { Database } from "../db/client";
import { ProblemError } from "../platform/problem";
import { findProductById, forgetCatalogCopies, type StaffActor } from "./products";

// Staff edits of a product's images: add, set alt text, move, remove. Each is one batch that ends
// by writing `products.image_url` back to the first image's URL, and is audited.

/** What staff may do to an image already there. */
export type ImageEdit = { kind: "alt"; alt: string } | { kind: "move"; direction: "up" | "down" } | { kind: "remove" };

async function requireProduct(db: Database, productId: string): Promise<void> {
  if (!(await findProductById(db, productId))) throw new ProblemError(404, "product_not_found", "No product has this id.");
}

/** Adds an image after the others (the first one added becomes the main image); 409 `too_many_images` past the limit. */
export async function addProductImage(env: Env, db: Database, actor: StaffActor, productId: string, image: { url: string; alt: string }): Promise<string> {
  await requireProduct(db, productId);
  const current = await listProductImages(db, productId);
  if (current.length >= MAX_PRODUCT_IMAGES) {
    throw new ProblemError(409, "too_many_images", `A product has at most ${MAX_PRODUCT_IMAGES} images: remove one first.`);
  }
  const id = newImageId();
  const position = current.length === 0 ? 0 : Math.max(...current.map((i) => i.position)) + 1;
  await db.batch([db.insert(productImages).values({ id, productId, url: image.url, alt: image.alt, position }), mainImageStatement(db, productId)]);
  forgetCatalogCopies(env.DB);
  await recordAudit(env, {
    actor: actor.id,
    ip: actor.ip,
    action: "product.image_added",
    subject: productId,
    detail: { imageId: id, url: image.url, alt: image.alt, position },
  });
  return id;
}

/** Changes one image of a product; 404 `image_not_found` when the product has no image with this id. */
export async function editProductImage(env: Env, db: Database, actor: StaffActor, productId: string, imageId: string, edit: ImageEdit): Promise<void> {
  await requireProduct(db, productId);
  const images = await listProductImages(db, productId);
  const at = images.findIndex((i) => i.id === imageId);
  if (at < 0) throw new ProblemError(404, "image_not_found", "This product has no image with this id.");
  const image = images[at]!;
  const ofThis = and(eq(productImages.id, imageId), eq(productImages.productId, productId));
  let detail: Record<string, unknown>;
  if (edit.kind === "alt") {
    if (edit.alt === image.alt) return;
    await db.update(productImages).set({ alt: edit.alt }).where(ofThis);
    detail = { imageId, alt: { from: image.alt, to: edit.alt } };
  } else if (edit.kind === "remove") {
    await db.batch([db.delete(productImages).where(ofThis), mainImageStatement(db, productId)]);
    detail = { imageId, removed: image.url };
  } else {
    const to = edit.direction === "up" ? at - 1 : at + 1;
    if (to < 0 || to >= images.length) return;
    const order = images.map((i) => i.id);
    [order[at], order[to]] = [order[to]!, order[at]!];
    // Positions become 0…n-1 in the new order (a carried-over or trigger-made image may share a position).
    await db.batch([
      db
        .update(productImages)
        .set({ position: sql`(SELECT key FROM json_each(${JSON.stringify(order)}) WHERE value = ${productImages.id})` })
        .where(eq(productImages.productId, productId)),
      mainImageStatement(db, productId),
    ]);
    detail = { imageId, moved: { from: at, to } };
  }
  forgetCatalogCopies(env.DB);
  await recordAudit(env, { actor: actor.id, ip: actor.ip, action: "product.image_updated", subject: productId, detail });
}
