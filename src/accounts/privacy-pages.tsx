import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { z } from "zod";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { Layout } from "../web/layout";
import { SESSION } from "./auth";
import { clearSessionCookies, erasePersonalData } from "./privacy";
import { getSessionUser, requireFreshSession, type SessionUser } from "./session";

function isFresh(user: SessionUser): boolean {
  return Date.now() - user.sessionCreatedAt <= SESSION.freshSeconds * 1000;
}

function PrivacyPage(props: { user: SessionUser; message?: string }) {
  const { user } = props;
  const fresh = isFresh(user);
  return (
    <Layout title="Your data">
      <h1>Your data</h1>
      <p>
        <a href="/account">Back to your account</a>
      </p>
      {props.message ? (
        <p role="alert" class="error-text">
          {props.message}
        </p>
      ) : null}
      {fresh ? null : (
        <p role="note" class="notice">
          Both actions need a sign-in within the last 10 minutes. <a href="/sign-in?next=/account/privacy">Sign in again</a>, then come back here.
        </p>
      )}
      <div class="account-grid">
        <section class="panel">
          <h2>Download your data</h2>
          <p>
            A JSON file with your profile, sessions, sign-in methods (never your password or keys), orders, coupon redemptions and the security events about
            your account.
          </p>
          <p>
            <a href="/api/me/export" download>
              Download my data
            </a>
          </p>
        </section>
        <section class="panel">
          <h2>Delete your account</h2>
          <p>
            This signs you out everywhere and erases your sign-in details (password, authenticator app, passkeys). Orders are kept for our accounts, without
            your name or email. This cannot be undone.
          </p>
          {user.role !== "customer" ? (
            <p>Staff accounts cannot be deleted here: ask an admin to change your role first.</p>
          ) : (
            <form class="stack" method="post" action="/account/privacy/delete">
              <label>
                Type DELETE to confirm
                <input name="confirm" required pattern="DELETE" autocomplete="off" maxlength={10} />
              </label>
              <button type="submit" class="danger">
                Delete my account
              </button>
            </form>
          )}
        </section>
      </div>
    </Layout>
  );
}

function DeletedPage() {
  return (
    <Layout title="Account deleted">
      <h1>Your account was deleted</h1>
      <p role="status">You are signed out. Your sign-in details are gone; orders remain for our accounts without your name or email.</p>
      <p>
        <a href="/">Back to the shop</a>
      </p>
    </Layout>
  );
}

/** /account/privacy: the data download link and the account deletion form (same functions as the API). */
export const privacyPages = new Hono<AppEnv>()
  .get("/account/privacy", async (c) => {
    const user = await getSessionUser(c);
    if (!user) return c.redirect("/sign-in?next=/account/privacy", 303);
    return c.html(<PrivacyPage user={user} />);
  })
  .post("/account/privacy/delete", zValidator("form", z.object({ confirm: z.string().max(20).optional().catch(undefined) })), async (c) => {
    const user = await getSessionUser(c);
    if (!user) return c.redirect("/sign-in?next=/account/privacy", 303);
    if (c.req.valid("form").confirm !== "DELETE") return c.html(<PrivacyPage user={user} message="Type DELETE in the box to confirm." />, 422);
    try {
      requireFreshSession(user);
      await erasePersonalData(c.env, getDb(c.env.DB), user, c.req.header("cf-connecting-ip") ?? null);
    } catch (error) {
      if (error instanceof ProblemError && (error.status === 403 || error.status === 409)) {
        return c.html(<PrivacyPage user={user} message={error.detail ?? error.code} />, error.status);
      }
      throw error;
    }
    clearSessionCookies(c);
    return c.html(<DeletedPage />);
  });
