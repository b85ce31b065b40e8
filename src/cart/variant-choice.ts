// Which variant an "add to cart" means, from the D1 rows the cart object read for it.
import type { PricingVariant } from "../catalog/pricing-queries";
import { hasOptions } from "./pricing";

/**
 * The variant an add means (P11, P04): the named variant, which must belong to the named product
 * (another product's variant is refused, never bought instead); without a name, the product's one
 * default variant, and a product with options needs one (`variant_required`). Rows come from D1's
 * active products only, so a draft or archived product's variant is simply not found.
 */
export function variantForAdd(
  variants: Map<string, PricingVariant>,
  productId: string,
  variantId: string | null,
): PricingVariant | "product_not_found" | "variant_not_found" | "variant_required" {
  if (variantId !== null) {
    // A variant that is not for sale (unknown, or its product is not active) is answered like an
    // unknown product; one of another product is refused by name, never bought instead.
    const variant = variants.get(variantId);
    if (!variant) return "product_not_found";
    if (variant.productId !== productId) return "variant_not_found";
    return variant;
  }
  const ofProduct = [...variants.values()].filter((v) => v.productId === productId);
  if (ofProduct.length === 0) return "product_not_found";
  if (ofProduct.length > 1 || hasOptions(ofProduct[0]!)) return "variant_required";
  return ofProduct[0]!;
}
