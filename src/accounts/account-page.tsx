// The signed-in shopper's account page as a view: their email and its verification, password,
// second factor, passkeys, password, their data and active sessions. Served by pages.tsx.
import { Layout } from "../web/layout";
import { PasswordField } from "./password-field";
import { PASSWORD_MAX } from "./password-policy";
import type { SessionUser } from "./session";

/** One of the user's sessions as the page lists it. */
export interface SessionRow {
  id: string;
  createdAt: Date;
  ipAddress: string | null;
  userAgent: string | null;
}

export function AccountPage({ user, sessions, sent = false }: { user: SessionUser; sessions: SessionRow[]; sent?: boolean }) {
  return (
    <Layout title="Your account" scripts={["account"]}>
      <h1>Your account</h1>
      <p>
        Signed in as <strong>{user.email}</strong> · role {user.role} · <a href="/orders">Your orders</a>
        {user.role !== "customer" ? (
          <>
            {" "}
            · <a href="/admin">Staff area</a>
          </>
        ) : null}
      </p>
      <p class="form-message" data-page-message role="status"></p>
      {user.emailVerified ? null : (
        <section class="panel" data-verify-email>
          <h2>Confirm your email address</h2>
          <p>
            Until you open the link we mailed to <strong>{user.email}</strong>, you cannot add an authenticator app or a passkey, or change your email (so
            nobody who registered your address before you can lock you out).
          </p>
          {sent ? <p class="form-message ok">We sent a new link. It works for one hour.</p> : null}
          <form method="post" action="/account/send-verification">
            <button type="submit" class="secondary">
              Send the link again
            </button>
          </form>
        </section>
      )}
      <div class="account-grid">
        <section class="panel">
          <h2>
            Authenticator app <span class={user.twoFactorEnabled ? "tag on" : "tag"}>{user.twoFactorEnabled ? "On" : "Off"}</span>
          </h2>
          {user.twoFactorEnabled ? (
            <form class="stack" data-auth-form="disable-totp" method="post" action="#">
              <PasswordField name="password" label="Current password (to turn it off)" autocomplete="current-password" />
              <button type="submit" class="secondary">
                Turn off
              </button>
              <p class="form-message" role="status"></p>
            </form>
          ) : (
            <>
              <form class="stack" data-auth-form="enable-totp" method="post" action="#">
                <p>Ask for a code from an authenticator app at every password sign-in.{user.role !== "customer" ? " Staff accounts need it." : ""}</p>
                <label>
                  Current password
                  <input name="password" type="password" required autocomplete="current-password" maxlength={PASSWORD_MAX} />
                </label>
                <button type="submit">Set up</button>
                <p class="form-message" role="status"></p>
              </form>
              <div data-totp-setup hidden class="stack">
                <p>Scan this with your authenticator app, or type the key.</p>
                <img data-totp-qr class="qr" alt="QR code of your authenticator key" />
                <p>
                  Key: <code data-totp-secret></code>
                </p>
                <p>Backup codes (each works once; keep them somewhere safe):</p>
                <p class="codes" data-backup-codes></p>
                <form class="stack" data-auth-form="verify-totp-setup" method="post" action="#">
                  <label>
                    Code from the app
                    <input name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength={8} />
                  </label>
                  <button type="submit">Turn on</button>
                  <p class="form-message" role="status"></p>
                </form>
              </div>
            </>
          )}
        </section>
        <section class="panel">
          <h2>Passkeys</h2>
          <p>A passkey signs you in with your device's screen lock and cannot be phished.</p>
          <ul data-passkey-list>
            <li>Loading…</li>
          </ul>
          <form class="stack" data-auth-form="add-passkey" method="post" action="#">
            <label>
              Name
              <input name="name" value="My passkey" maxlength={60} />
            </label>
            <button type="submit">Add a passkey</button>
            <p class="form-message" role="status"></p>
          </form>
        </section>
        <section class="panel">
          <h2>Password</h2>
          <form class="stack" data-auth-form="change-password" method="post" action="#">
            <label>
              Current password
              <input name="currentPassword" type="password" required autocomplete="current-password" maxlength={PASSWORD_MAX} />
            </label>
            <PasswordField name="newPassword" label="New password" autocomplete="new-password" />
            <button type="submit">Change password</button>
            <p class="form-message" role="status"></p>
          </form>
        </section>
        <section class="panel">
          <h2>Your data</h2>
          <p>Download everything the shop keeps about you, or delete your account.</p>
          <p>
            <a href="/account/privacy">Download or delete your data</a>
          </p>
        </section>
        <section class="panel">
          <h2>Sessions</h2>
          <ul class="sessions">
            {sessions.map((row) => (
              <li>
                <span>
                  {row.id === user.sessionId ? <strong>This device · </strong> : null}
                  {(row.userAgent ?? "Unknown browser").slice(0, 80)} · {row.ipAddress ?? "unknown address"} · since{" "}
                  {row.createdAt.toISOString().slice(0, 16).replace("T", " ")} UTC
                </span>
                {row.id === user.sessionId ? null : (
                  <form method="post" action={`/account/sessions/${row.id}/revoke`} class="inline-form">
                    <button type="submit" class="link-button">
                      Sign out
                    </button>
                  </form>
                )}
              </li>
            ))}
          </ul>
          <form class="stack" data-auth-form="signout" method="post" action="#">
            <button type="submit" class="secondary">
              Sign out
            </button>
          </form>
          <form class="stack" data-auth-form="signout-everywhere" method="post" action="#">
            <button type="submit" class="secondary">
              Sign out everywhere
            </button>
            <p class="form-message" role="status"></p>
          </form>
        </section>
      </div>
    </Layout>
  );
}
