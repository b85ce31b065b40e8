// Bastion account pages: sign-up, sign-in (second factor, Turnstile, passkeys), security settings.
// Talks only to our own /api/auth (better-auth) and /api/me; no third-party script is loaded,
// except Cloudflare Turnstile in production and only when the server asks for it.
"use strict";
(function () {
  async function call(method, path, body, headers) {
    const res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: Object.assign(body === undefined ? {} : { "content-type": "application/json" }, headers || {}),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await res.json().catch(() => null);
    return { ok: res.ok, status: res.status, data, headers: res.headers };
  }
  function say(form, text, ok) {
    const el = form.querySelector(".form-message") || document.querySelector("[data-page-message]");
    if (!el) return;
    el.className = "form-message " + (ok ? "ok" : "error");
    el.textContent = text;
  }
  function errorText(res) {
    const d = res.data || {};
    if (res.status === 429) return "Too many attempts. Wait " + (res.headers.get("retry-after") || "a few") + " seconds and try again, or reset your password.";
    return d.message || d.detail || "Something went wrong. Please try again.";
  }
  function values(form) {
    const out = {};
    new FormData(form).forEach((v, k) => (out[k] = String(v)));
    return out;
  }
  // Where to go after signing in: only a path on this origin. Backslashes and control characters
  // are refused outright (browsers read "/\evil.example" as another host).
  const next = () => {
    const n = new URLSearchParams(location.search).get("next") || "/account";
    if (!n.startsWith("/") || /[\\\u0000-\u001f\u007f]/.test(n)) return "/account";
    try {
      const url = new URL(n, location.origin);
      return url.origin === location.origin ? url.pathname + url.search + url.hash : "/account";
    } catch (_) {
      return "/account";
    }
  };

  // --- WebAuthn helpers (base64url <-> ArrayBuffer), as the JSON forms of the spec define ---
  const b64u = {
    toBuf(s) {
      const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
      return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
    },
    fromBuf(buf) {
      let s = "";
      new Uint8Array(buf).forEach((b) => (s += String.fromCharCode(b)));
      return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };
  /** A PublicKeyCredential as the JSON that @simplewebauthn/server (better-auth's passkey plugin) reads. */
  function credentialJSON(cred, response) {
    return {
      id: cred.id,
      rawId: b64u.fromBuf(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response,
      clientExtensionResults: {},
    };
  }
  async function passkeyRegister(name) {
    const opts = await call("GET", "/api/auth/passkey/generate-register-options?name=" + encodeURIComponent(name || "Passkey"));
    if (!opts.ok) throw new Error(errorText(opts));
    const o = opts.data;
    const cred = await navigator.credentials.create({
      publicKey: Object.assign({}, o, {
        challenge: b64u.toBuf(o.challenge),
        user: Object.assign({}, o.user, { id: b64u.toBuf(o.user.id) }),
        excludeCredentials: (o.excludeCredentials || []).map((c) => Object.assign({}, c, { id: b64u.toBuf(c.id) })),
      }),
    });
    const r = cred.response;
    const response = credentialJSON(cred, {
      clientDataJSON: b64u.fromBuf(r.clientDataJSON),
      attestationObject: b64u.fromBuf(r.attestationObject),
      transports: r.getTransports ? r.getTransports() : [],
    });
    const done = await call("POST", "/api/auth/passkey/verify-registration", { response, name: name || "Passkey" });
    if (!done.ok) throw new Error(errorText(done));
  }
  async function passkeySignIn() {
    const opts = await call("GET", "/api/auth/passkey/generate-authenticate-options");
    if (!opts.ok) throw new Error(errorText(opts));
    const o = opts.data;
    const cred = await navigator.credentials.get({
      publicKey: Object.assign({}, o, {
        challenge: b64u.toBuf(o.challenge),
        allowCredentials: (o.allowCredentials || []).map((c) => Object.assign({}, c, { id: b64u.toBuf(c.id) })),
      }),
    });
    const r = cred.response;
    const response = credentialJSON(cred, {
      clientDataJSON: b64u.fromBuf(r.clientDataJSON),
      authenticatorData: b64u.fromBuf(r.authenticatorData),
      signature: b64u.fromBuf(r.signature),
      userHandle: r.userHandle ? b64u.fromBuf(r.userHandle) : undefined,
    });
    const done = await call("POST", "/api/auth/passkey/verify-authentication", { response });
    if (!done.ok) throw new Error(errorText(done));
  }

  // --- Turnstile: the dummy token in development, Cloudflare's widget in production ---
  let captchaToken = "";
  function showCaptcha(form) {
    const box = form.querySelector("[data-captcha]");
    if (!box) return;
    box.hidden = false;
    const siteKey = box.getAttribute("data-site-key") || "";
    if (box.getAttribute("data-dev") === "true") {
      captchaToken = "XXXX.DUMMY.TOKEN.XXXX";
      box.textContent = "Development: the Turnstile check is answered with Cloudflare's dummy token.";
      return;
    }
    window.onBastionTurnstile = (token) => (captchaToken = token);
    const s = document.createElement("script");
    s.src = "https://challenges.cloudflare.com/turnstile/v0/api.js";
    s.async = true;
    document.head.appendChild(s);
    const w = document.createElement("div");
    w.className = "cf-turnstile";
    w.setAttribute("data-sitekey", siteKey);
    w.setAttribute("data-callback", "onBastionTurnstile");
    box.appendChild(w);
  }

  const handlers = {
    async signup(form) {
      const v = values(form);
      const res = await call("POST", "/api/auth/sign-up/email", { name: v.name, email: v.email, password: v.password });
      if (!res.ok) return say(form, errorText(res), false);
      // Sign-up opens no session (so it cannot reveal existing emails): sign in as usual.
      const signin = await call("POST", "/api/auth/sign-in/email", { email: v.email, password: v.password });
      if (!signin.ok) return say(form, "Your account is ready. Please sign in.", true);
      location.assign(next());
    },
    async signin(form) {
      const v = values(form);
      const res = await call("POST", "/api/auth/sign-in/email", { email: v.email, password: v.password }, captchaToken ? { "x-captcha-response": captchaToken } : {});
      if (res.status === 403 && res.data && res.data.code === "CAPTCHA_REQUIRED") {
        showCaptcha(form);
        return say(form, "Please complete the check below, then sign in again.", false);
      }
      if (!res.ok) return say(form, errorText(res), false);
      if (res.data && res.data.twoFactorRedirect) {
        form.hidden = true;
        const step = document.querySelector("[data-second-factor]");
        if (step) step.hidden = false;
        const input = step && step.querySelector("input[name=code]");
        if (input) input.focus();
        return;
      }
      location.assign(next());
    },
    async totp(form) {
      const v = values(form);
      const backup = v.code.length > 8;
      const res = await call("POST", backup ? "/api/auth/two-factor/verify-backup-code" : "/api/auth/two-factor/verify-totp", { code: v.code.trim() });
      if (!res.ok) return say(form, errorText(res), false);
      location.assign(next());
    },
    async forgot(form) {
      const v = values(form);
      const res = await call("POST", "/api/auth/request-password-reset", { email: v.email, redirectTo: "/reset-password" });
      say(form, res.ok ? "If an account uses that address, a reset link is on its way. It expires in 20 minutes." : errorText(res), res.ok);
    },
    async reset(form) {
      const v = values(form);
      const res = await call("POST", "/api/auth/reset-password", { newPassword: v.password, token: v.token });
      if (!res.ok) return say(form, errorText(res), false);
      say(form, "Your password is changed and every session is signed out. You can sign in now.", true);
      form.reset();
    },
    async "change-password"(form) {
      const v = values(form);
      const res = await call("POST", "/api/auth/change-password", { currentPassword: v.currentPassword, newPassword: v.newPassword });
      if (!res.ok) return say(form, errorText(res), false);
      say(form, "Password changed. Your other sessions were signed out.", true);
      form.reset();
    },
    async "enable-totp"(form) {
      const v = values(form);
      const res = await call("POST", "/api/auth/two-factor/enable", { password: v.password });
      if (!res.ok) return say(form, errorText(res), false);
      const qr = await call("POST", "/api/me/totp-qr", { totpURI: res.data.totpURI });
      const panel = document.querySelector("[data-totp-setup]");
      panel.hidden = false;
      form.hidden = true;
      if (qr.ok) panel.querySelector("[data-totp-qr]").src = "data:image/svg+xml;base64," + btoa(qr.data.svg);
      panel.querySelector("[data-totp-secret]").textContent = new URL(res.data.totpURI).searchParams.get("secret");
      panel.querySelector("[data-backup-codes]").textContent = res.data.backupCodes.join("\n");
    },
    async "verify-totp-setup"(form) {
      const v = values(form);
      const res = await call("POST", "/api/auth/two-factor/verify-totp", { code: v.code.trim() });
      if (!res.ok) return say(form, errorText(res), false);
      location.reload();
    },
    async "disable-totp"(form) {
      const v = values(form);
      const res = await call("POST", "/api/auth/two-factor/disable", { password: v.password });
      if (!res.ok) return say(form, errorText(res), false);
      location.reload();
    },
    async "add-passkey"(form) {
      try {
        await passkeyRegister(values(form).name);
        location.reload();
      } catch (e) {
        say(form, e.message || "The passkey was not added.", false);
      }
    },
    async "delete-passkey"(form) {
      const res = await call("POST", "/api/auth/passkey/delete-passkey", { id: values(form).id });
      if (!res.ok) return say(form, errorText(res), false);
      location.reload();
    },
    async "passkey-signin"(form) {
      try {
        await passkeySignIn();
        location.assign(next());
      } catch (e) {
        say(form, e.message || "Passkey sign-in was cancelled.", false);
      }
    },
    async signout() {
      await call("POST", "/api/auth/sign-out", {});
      location.assign("/");
    },
    async "signout-everywhere"(form) {
      const res = await call("POST", "/api/auth/revoke-sessions", {});
      if (!res.ok) return say(form, errorText(res), false);
      location.assign("/sign-in");
    },
  };

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const name = form.getAttribute("data-auth-form");
    if (!name || !handlers[name]) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      await handlers[name](form);
    } catch (_) {
      say(form, "Something went wrong. Please try again.", false);
    } finally {
      if (button) button.disabled = false;
    }
  });

  // Passkey list on the account page.
  const list = document.querySelector("[data-passkey-list]");
  if (list) {
    call("GET", "/api/auth/passkey/list-user-passkeys").then((res) => {
      if (!res.ok || !Array.isArray(res.data)) return;
      list.textContent = "";
      if (res.data.length === 0) {
        // A list holds only list items (axe "list"): the empty state is one too.
        const empty = document.createElement("li");
        empty.textContent = "No passkeys yet.";
        list.appendChild(empty);
      }
      res.data.forEach((pk) => {
        const li = document.createElement("li");
        const form = document.createElement("form");
        form.setAttribute("data-auth-form", "delete-passkey");
        form.className = "inline-form";
        const label = document.createElement("span");
        label.textContent = (pk.name || "Passkey") + " · added " + String(pk.createdAt || "").slice(0, 10);
        const id = document.createElement("input");
        id.type = "hidden";
        id.name = "id";
        id.value = pk.id;
        const b = document.createElement("button");
        b.type = "submit";
        b.className = "link-button";
        b.textContent = "Remove";
        const msg = document.createElement("span");
        msg.className = "form-message";
        form.append(label, id, b, msg);
        li.appendChild(form);
        list.appendChild(li);
      });
    });
  }
})();
