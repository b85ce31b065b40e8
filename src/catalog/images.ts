import { ProblemError } from "../platform/problem";

/** The largest product image staff may upload (5 MiB): a photo, not a poster. */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

/** The image types a product page shows, by their file signature (never by name or declared type). */
export type ImageType = "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/avif";

const EXTENSION: Record<ImageType, string> = { "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "image/avif": "avif" };

const ascii = (bytes: Uint8Array, from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));

/**
 * The image type of `bytes` from its signature, or null. SVG, HTML, PDF and anything else that a
 * browser could run script from are null: only raster formats, which are served with their own
 * type and `nosniff`, so a polyglot file can never be rendered as a document.
 */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
  if (bytes.length < 12) return null;
  if (bytes[0] === 0x89 && ascii(bytes, 1, 8) === "PNG\r\n\x1a\n") return "image/png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  if (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a") return "image/gif";
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return "image/webp";
  if (ascii(bytes, 4, 8) === "ftyp" && ["avif", "avis"].includes(ascii(bytes, 8, 12))) return "image/avif";
  return null;
}

/** Reads a body of at most `limit` bytes; stops reading and returns null as soon as it is longer. */
export async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

export interface StoredImage {
  url: string;
  contentType: ImageType;
  bytes: number;
}

/**
 * Stores an uploaded product image in R2 under its content hash (`products/<sha256>.<ext>`): the
 * same bytes are one object, and a new image is a new URL, so it can be cached for a year.
 * Refuses (413, 415) before anything is written.
 */
export async function storeProductImage(bucket: R2Bucket, bytes: Uint8Array | null): Promise<StoredImage> {
  if (bytes === null || bytes.byteLength > MAX_IMAGE_BYTES)
    throw new ProblemError(413, "image_too_large", `Images are limited to ${MAX_IMAGE_BYTES / 1024 / 1024} MiB.`);
  const contentType = sniffImageType(bytes);
  if (!contentType) throw new ProblemError(415, "unsupported_image_type", "Upload a PNG, JPEG, GIF, WebP or AVIF image (SVG and other documents are refused).");
  const key = await contentKey(bytes, EXTENSION[contentType]);
  await bucket.put(key, bytes, { httpMetadata: { contentType, cacheControl: IMMUTABLE } });
  return { url: `/media/${key}`, contentType, bytes: bytes.byteLength };
}

const IMMUTABLE = "public, max-age=31536000, immutable";

/** An image's key in the bucket: `products/<SHA-256 of its bytes>.<ext>`, so the same bytes are one object. */
async function contentKey(bytes: Uint8Array, extension: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `products/${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}.${extension}`;
}

/**
 * Development seed: one of the demo catalog's drawings (an SVG the shop ships in public/images,
 * first-party, never an upload) into R2 under its content hash, like an upload. Served from
 * /media/ with the same sandbox CSP as every stored image, so even opened directly it runs nothing.
 */
export async function storeDemoImage(bucket: R2Bucket, svg: Uint8Array): Promise<string> {
  const key = await contentKey(svg, "svg");
  if (!(await bucket.head(key))) await bucket.put(key, svg, { httpMetadata: { contentType: "image/svg+xml", cacheControl: IMMUTABLE } });
  return `/media/${key}`;
}

/**
 * The path of a stored image under /media/ (`products/<64 hex>.<ext>`), or null for anything else.
 * `.svg` exists only for the demo catalog's own drawings (storeDemoImage); uploads never make one.
 */
export function mediaKey(path: string): string | null {
  const m = /^\/media\/(products\/[0-9a-f]{64}\.(?:png|jpg|gif|webp|avif|svg))$/.exec(path);
  return m ? m[1]! : null;
}

/**
 * GET /media/products/<hash>.<ext>: an uploaded image from R2, with the type it was stored with,
 * a year of caching (the name is its hash) and its ETag; nothing else under /media exists.
 */
export async function serveProductImage(bucket: R2Bucket, path: string, ifNoneMatch: string | null): Promise<Response | null> {
  const key = mediaKey(path);
  if (!key) return null;
  const object = await bucket.get(key, ifNoneMatch ? { onlyIf: { etagDoesNotMatch: ifNoneMatch.replaceAll('"', "") } } : undefined);
  if (!object) return null;
  const headers = new Headers({
    "cache-control": IMMUTABLE,
    etag: object.httpEtag,
    "content-type": object.httpMetadata?.contentType ?? "application/octet-stream",
  });
  // Defence in depth: even opened directly, the file is an image in a sandbox, never a document.
  headers.set("content-security-policy", "default-src 'none'; img-src 'self'; sandbox");
  if (!("body" in object)) return new Response(null, { status: 304, headers });
  return new Response(object.body, { headers });
}
