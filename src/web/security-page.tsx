import { Layout } from "./layout";

/**
 * Where to report a vulnerability. Keep in step with public/.well-known/security.txt (a static
 * file, so it cannot read PUBLIC_ORIGIN): an operator changes both when deploying to a real domain.
 */
export const SECURITY_CONTACT = "security@shop.example.com";

/** GET /security: the security model in plain words, and how to report a vulnerability. */
export function SecurityPage({ origin }: { origin: string }) {
  return (
    <Layout
      title="Security"
      canonical={`${origin}/security`}
      description="How Bastion protects your account, your payments and your data, and how to report a vulnerability."
    >
      <article class="prose">
        <h1 class="page-title">Security at Bastion</h1>
        <p class="lead">
          We wrote down every way we could think of that someone might attack this shop, and for each one we wrote a test that attacks the shop the same way and
          checks that the attack fails. Those tests run before every change goes live.
        </p>

        <section class="panel">
          <h2>Your account</h2>
          <ul>
            <li>
              <strong>Passkeys.</strong> You can sign in with a passkey (your phone, laptop or security key). A passkey only works on this site, so a look-alike
              page cannot steal it. A passkey counts as two-step sign-in only when your device checks it is you (a PIN, fingerprint or face), not just a touch.
            </li>
            <li>
              <strong>Passwords</strong> are stored only as slow, salted hashes. We refuse passwords that appear in known data breaches or that are easy to
              guess (common words, names, dates, sequences), and we slow down repeated guesses, at sign-in and wherever your password or a code is checked.
            </li>
            <li>
              <strong>Two-step sign-in</strong> with an authenticator app is available to everyone, once your email address is confirmed. We never offer to
              "trust this device": every sign-in with a password asks for the code.
            </li>
            <li>
              <strong>Confirmed email first.</strong> Until you confirm your address, nobody can add an authenticator app or a passkey to the account, or change
              its email. If someone registered your address before you, resetting the password removes anything they added.
            </li>
            <li>
              <strong>Notices.</strong> We mail you when your password, two-step sign-in, passkeys or email change, when you are signed out everywhere, and when
              someone signs in with a code or a passkey.
            </li>
            <li>
              <strong>Staff</strong> reach the back office only from a session that was opened with a second factor (an authenticator code or a passkey that
              verifies them), for at most 12 hours; a change of role signs them out everywhere.
            </li>
            <li>
              <strong>Sessions</strong> live in a secure, HTTP-only cookie that scripts cannot read. You can sign out of every device at once from your account
              page. Links in our mails never sign anyone in.
            </li>
            <li>We never ask for your password or a sign-in code by mail, chat or phone. If someone does, it is not us.</li>
          </ul>
        </section>

        <section class="panel">
          <h2>Payments</h2>
          <p>
            You pay on Stripe Checkout. Your card details go straight to Stripe and never touch our servers; we only keep what Stripe tells us about the payment
            (its id, the amount and the last four digits of the card). Prices and discounts are always computed on our side, from our own catalog.
          </p>
        </section>

        <section class="panel">
          <h2>What we log</h2>
          <p>
            We keep a tamper-evident audit log of security-relevant events: sign-ins, failed sign-ins, changes to passwords and second factors, orders, refunds,
            and every change staff make to the catalog, coupons or accounts. Each entry records when it happened, who did it and the IP address the request came
            from. A failed sign-in does not keep the email that was typed, only a random name for it; your data download includes those entries and deleting
            your account unlinks them.
          </p>
          <p>
            We never log passwords, sign-in codes, session tokens or card numbers. Each audit entry is chained to the one before it by a cryptographic hash, so
            an edited or deleted entry is detected.
          </p>
        </section>

        <section class="panel">
          <h2>Reporting a vulnerability</h2>
          <p>
            If you think you have found a security problem, please email <a href={`mailto:${SECURITY_CONTACT}`}>{SECURITY_CONTACT}</a> with the steps to
            reproduce it. We will acknowledge your report within three working days and keep you updated until it is fixed. Please do not access other people's
            data or disrupt the shop while testing.
          </p>
          <p>
            Our contact details in machine-readable form are in <a href="/.well-known/security.txt">/.well-known/security.txt</a>.
          </p>
        </section>
      </article>
    </Layout>
  );
}
