import { sql } from "drizzle-orm";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** The development outbox: mail the shop would have sent (the `outbox` provider, development only). */
export const mailOutbox = sqliteTable("mail_outbox", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  to: text("to").notNull(),
  subject: text("subject").notNull(),
  text: text("text").notNull(),
  html: text("html"),
  createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
});

/**
 * Mails with an idempotency key that the provider accepted: a queue delivers at least once, so a
 * redelivered message (or an effect that ran twice, like a webhook retried) is not sent again.
 */
export const mailDeliveries = sqliteTable("mail_deliveries", {
  key: text("key").primaryKey(),
  deliveredAt: text("delivered_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
});

/**
 * Mails the provider kept refusing after every retry (the queue's dead-letter queue): kept here,
 * whole, so nothing is lost; an operator re-sends them once the provider works (docs/operations.md).
 */
export const mailDeadLetters = sqliteTable("mail_dead_letters", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  key: text("key"),
  to: text("to").notNull(),
  subject: text("subject").notNull(),
  message: text("message").notNull(),
  attempts: integer("attempts").notNull(),
  createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
  resentAt: text("resent_at"),
});
