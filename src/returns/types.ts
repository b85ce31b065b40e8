// The shapes a return is read in (a leaf module: returns.ts makes them, the mail and views read them).
import type { ReturnStatus } from "./schema";

export interface ReturnLineView {
  productId: string;
  variantId: string;
  name: string;
  options: Record<string, string>;
  quantity: number;
  restock: boolean;
}

export interface ReturnView {
  id: string;
  orderId: string;
  status: ReturnStatus;
  reason: string;
  refusalReason: string | null;
  lines: ReturnLineView[];
  refundCents: number | null;
  createdAt: string;
  decidedAt: string | null;
  receivedAt: string | null;
  refundedAt: string | null;
}

/** Why an order takes no return request now, or null when it does. */
export type NotReturnable = "not_paid" | "not_delivered" | "returns_disabled" | "window_closed" | "return_open" | "nothing_left";

export interface ReturnableLine {
  productId: string;
  variantId: string;
  name: string;
  options: Record<string, string>;
  bought: number;
  /** Units that may still be asked for: bought less refunded. */
  returnable: number;
}

export interface Returnability {
  refusal: NotReturnable | null;
  /** The last moment a return may be asked for (ISO 8601), or null before delivery. */
  closesAt: string | null;
  lines: ReturnableLine[];
}
