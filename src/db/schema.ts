// Every D1 table, one export per domain; drizzle-kit reads this file to write migrations/.
export * from "../catalog/schema";
export * from "../audit/schema";
export * from "../checkout/schema";
export * from "../accounts/schema";
export * from "../coupons/schema";
export * from "../mail/schema";
export * from "../shipping/schema";
export * from "../integrations/schema";
export * from "../settings/schema";
export * from "../returns/schema";
