import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// better-auth's tables (core + twoFactor, admin and passkey plugins), with the field names its
// drizzle adapter expects. Times are integer milliseconds, booleans are 0/1.
const now = sql`(cast(unixepoch('subsecond') * 1000 as integer))`;

/** Accounts. `role` is set only by the server (sign-up ignores it; see src/accounts/auth.ts). */
export const user = sqliteTable("user", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  email: text("email").notNull().unique(),
  emailVerified: integer("email_verified", { mode: "boolean" }).notNull().default(false),
  image: text("image"),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull().default(now),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull().default(now),
  twoFactorEnabled: integer("two_factor_enabled", { mode: "boolean" }).default(false),
  role: text("role").notNull().default("customer"),
  banned: integer("banned", { mode: "boolean" }).default(false),
  banReason: text("ban_reason"),
  banExpires: integer("ban_expires", { mode: "timestamp_ms" }),
});

/** Server-side sessions: the cookie carries the opaque token (signed); sign-out deletes the row. */
export const session = sqliteTable(
  "session",
  {
    id: text("id").primaryKey(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    token: text("token").notNull().unique(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull().default(now),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    impersonatedBy: text("impersonated_by"),
  },
  (t) => [index("session_user_idx").on(t.userId)],
);

/** Credentials: the `credential` provider row holds the scrypt password hash. */
export const account = sqliteTable(
  "account",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    providerId: text("provider_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    accessToken: text("access_token"),
    refreshToken: text("refresh_token"),
    idToken: text("id_token"),
    accessTokenExpiresAt: integer("access_token_expires_at", { mode: "timestamp_ms" }),
    refreshTokenExpiresAt: integer("refresh_token_expires_at", { mode: "timestamp_ms" }),
    scope: text("scope"),
    password: text("password"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull().default(now),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("account_user_idx").on(t.userId)],
);

/** Verification values (email verification, password reset tokens: stored hashed, see auth.ts). */
export const verification = sqliteTable(
  "verification",
  {
    id: text("id").primaryKey(),
    identifier: text("identifier").notNull(),
    value: text("value").notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull().default(now),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull().default(now),
  },
  (t) => [index("verification_identifier_idx").on(t.identifier)],
);

/** TOTP secrets and backup codes (both encrypted by better-auth with BETTER_AUTH_SECRET). */
export const twoFactor = sqliteTable(
  "two_factor",
  {
    id: text("id").primaryKey(),
    secret: text("secret").notNull(),
    backupCodes: text("backup_codes").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    verified: integer("verified", { mode: "boolean" }).default(true),
    failedVerificationCount: integer("failed_verification_count").default(0),
    lockedUntil: integer("locked_until", { mode: "timestamp_ms" }),
  },
  (t) => [index("two_factor_user_idx").on(t.userId), index("two_factor_secret_idx").on(t.secret)],
);

/** WebAuthn credentials (public keys only). */
export const passkey = sqliteTable(
  "passkey",
  {
    id: text("id").primaryKey(),
    name: text("name"),
    publicKey: text("public_key").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    credentialID: text("credential_id").notNull(),
    counter: integer("counter").notNull(),
    deviceType: text("device_type").notNull(),
    backedUp: integer("backed_up", { mode: "boolean" }).notNull(),
    transports: text("transports"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }),
    aaguid: text("aaguid"),
  },
  (t) => [index("passkey_user_idx").on(t.userId), index("passkey_credential_idx").on(t.credentialID)],
);

/**
 * How each session was authenticated (decision 012): the methods proven when it was created
 * (`pwd`, `otp` for TOTP, `backup` for a backup code, `hwk` for a passkey, `uv` when the
 * authenticator verified the user) and the role the account had then. A session without a row
 * (made before this table, or by a rotation we do not trust) counts as a password-only session.
 */
export const sessionAssurance = sqliteTable("session_assurance", {
  sessionId: text("session_id")
    .primaryKey()
    .references(() => session.id, { onDelete: "cascade" }),
  userId: text("user_id")
    .notNull()
    .references(() => user.id, { onDelete: "cascade" }),
  methods: text("methods").notNull(),
  /** When the second factor was proven in this session (ms), null for one factor. */
  secondFactorAt: integer("second_factor_at", { mode: "timestamp_ms" }),
  roleAtSignIn: text("role_at_sign_in").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull().default(now),
});

/**
 * Step-up for money actions (docs/decisions/022): when this session last proved a second factor
 * again (a TOTP code) to refund or do another money action. Valid for a short window
 * (src/accounts/step-up.ts); gone with the session.
 */
export const sessionStepUp = sqliteTable("session_step_up", {
  sessionId: text("session_id")
    .primaryKey()
    .references(() => session.id, { onDelete: "cascade" }),
  userId: text("user_id")
    .notNull()
    .references(() => user.id, { onDelete: "cascade" }),
  method: text("method").notNull(),
  verifiedAt: integer("verified_at", { mode: "timestamp_ms" }).notNull(),
});

/**
 * Failed sign-ins name their typed email in the audit log only by a random pseudonym (ASVS 7:
 * no plain emails of failed attempts). This table links a keyed hash of the normalised email to
 * that pseudonym, so the owner's data export finds those events, and erasing the account deletes
 * the link: the append-only log then holds a pseudonym that points at no one.
 */
export const signInPseudonym = sqliteTable("sign_in_pseudonym", {
  emailKey: text("email_key").primaryKey(),
  pseudonym: text("pseudonym").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull().default(now),
});

/**
 * Events of operator tools that run outside the worker (`npm run admin:create` writes D1 through
 * wrangler and cannot reach the audit chain's object): the worker moves each into the audit log
 * at the next sign-in and marks it recorded (operator-events.ts).
 */
export const operatorEvents = sqliteTable("operator_events", {
  id: text("id").primaryKey(),
  at: integer("at", { mode: "timestamp_ms" }).notNull(),
  action: text("action").notNull(),
  subject: text("subject"),
  detail: text("detail").notNull().default("{}"),
  recordedAt: integer("recorded_at", { mode: "timestamp_ms" }),
});
