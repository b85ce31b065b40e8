/** Bytes as base64url without padding (RFC 4648 §5): ids, cursors and keys that travel in URLs and cookies. */
export function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

/** The bytes of a base64url text (padding optional). Throws on characters outside the alphabet: callers check the shape first. */
export function fromBase64Url(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (ch) => ch.charCodeAt(0));
}

/**
 * The `byteLength` bytes a base64url text spells in its one canonical form, or null: no padding,
 * only the URL alphabet, exactly the right length, and zero spare bits in the last character (so
 * `…A` and `…B` cannot both decode to the same bytes). For secrets that must have one spelling.
 */
export function fromCanonicalBase64Url(text: string, byteLength: number): Uint8Array | null {
  if (text.length !== Math.ceil((byteLength * 4) / 3) || !/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const bytes = fromBase64Url(text);
  return bytes.length === byteLength && toBase64Url(bytes) === text ? bytes : null;
}
