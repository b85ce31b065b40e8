// Stripe-like ids for the simulator and for events built in tests: a leaf, imported by events.ts and the simulator alike.

/** Random lower-case alphanumerics, like the tail of a Stripe id. */
export function randomStripeSuffix(bytes = 18): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(36).padStart(2, "0"))
    .join("")
    .slice(0, bytes + 6);
}
