// Bastion storefront script: progressive enhancement only; every page works without it.
"use strict";
(function () {
  /** Sends JSON to our own API; the browser adds Origin, which the CSRF check requires. */
  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await res.json().catch(() => null);
    return { ok: res.ok, status: res.status, data };
  }
  window.bastion = { api };

  function setCartCount(count) {
    document.querySelectorAll("[data-cart-count]").forEach((el) => {
      el.textContent = String(count);
      el.hidden = !count;
    });
  }

  async function refreshCartCount() {
    try {
      const res = await api("GET", "/api/cart");
      if (res.ok && res.data && Array.isArray(res.data.items)) {
        setCartCount(res.data.items.reduce((n, line) => n + line.quantity, 0));
      }
    } catch (_) {
      /* the badge is decoration; the cart page is the source of truth */
    }
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-add-to-cart")) return;
    event.preventDefault();
    const message = form.querySelector(".form-message");
    const productId = form.elements.namedItem("productId").value;
    const quantity = Number(form.elements.namedItem("quantity").value);
    const res = await api("POST", "/api/cart/items", { productId, quantity });
    if (message) {
      message.className = "form-message " + (res.ok ? "ok" : "error");
      message.textContent = res.ok ? "Added to your cart." : (res.data && res.data.detail) || "Could not add this item.";
    }
    if (res.ok) setCartCount(res.data.items.reduce((n, line) => n + line.quantity, 0));
    const viewCart = form.querySelector("[data-view-cart]");
    if (viewCart) viewCart.hidden = !res.ok;
  });

  // The cart's totals follow the shipping rate chosen: the page wrote each rate's shipping and
  // total (the amounts checkout charges) on its radio button; nothing is computed here.
  document.addEventListener("change", (event) => {
    const radio = event.target;
    if (!(radio instanceof HTMLInputElement) || radio.name !== "shippingRateId" || !radio.checked) return;
    const set = (selector, text) => {
      const el = document.querySelector(selector);
      if (el && text) el.textContent = text;
    };
    set("[data-shipping]", radio.dataset.shippingText);
    set("[data-shipping-name]", radio.dataset.shippingName);
    set("[data-total] strong", radio.dataset.totalText);
  });

  if (document.querySelector("[data-cart-count]")) refreshCartCount();
})();
