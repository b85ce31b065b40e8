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

  /** The product form's variants (id, values in option order, price, availability), from the page. */
  function variantsOf(form) {
    try {
      return JSON.parse(form.getAttribute("data-variants") || "[]");
    } catch (_) {
      return [];
    }
  }

  /** The variant the form's selects name, or null when that combination is not sold. */
  function chosenVariant(form) {
    const selects = Array.from(form.querySelectorAll("select[data-option-index]"));
    const values = selects.map((s) => s.value);
    const variants = variantsOf(form);
    if (selects.length === 0) return variants[0] || null;
    return variants.find((v) => v.values.every((value, i) => value === values[i])) || null;
  }

  /** Shows the chosen variant's price, availability and SKU, and whether it can be added. */
  function showVariant(form) {
    const variant = chosenVariant(form);
    const page = form.closest(".product-info") || document;
    const price = page.querySelector("[data-variant-price]");
    const compareAt = page.querySelector("[data-variant-compare-at]");
    const status = page.querySelector("[data-variant-status]");
    const sku = page.querySelector("[data-variant-sku]");
    const button = form.querySelector("[data-add-button]");
    if (variant && price) price.textContent = variant.price;
    if (compareAt) compareAt.textContent = variant ? variant.compareAt : "";
    if (sku) sku.textContent = variant && variant.sku ? "SKU " + variant.sku : "";
    if (status) {
      status.textContent = !variant
        ? "This combination is not available."
        : !variant.inStock
          ? "Out of stock"
          : variant.lowStock
            ? "Only " + variant.lowStock + " left"
            : "In stock";
      status.className = "stock " + (!variant || !variant.inStock ? "out" : variant.lowStock ? "low" : "in");
    }
    if (button) {
      button.disabled = !(variant && variant.inStock);
      button.textContent = !variant ? "Not available" : variant.inStock ? "Add to cart" : "Sold out";
    }
  }

  document.querySelectorAll("form[data-add-to-cart][data-variants]").forEach((form) => {
    // With the script the choice follows the selects at once: the reload button is not needed.
    form.querySelectorAll("[data-check-availability]").forEach((b) => (b.hidden = true));
    form.addEventListener("change", (event) => {
      if (event.target instanceof HTMLSelectElement) showVariant(form);
    });
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-add-to-cart")) return;
    // "Check availability" reloads the page for the chosen options (the no-script path).
    if (event.submitter && event.submitter.hasAttribute("data-check-availability")) return;
    event.preventDefault();
    const message = form.querySelector(".form-message");
    const productId = form.elements.namedItem("productId").value;
    const quantity = Number(form.elements.namedItem("quantity").value);
    const variant = chosenVariant(form);
    if (!variant) {
      if (message) {
        message.className = "form-message error";
        message.textContent = "This combination is not available.";
      }
      return;
    }
    const res = await api("POST", "/api/cart/items", { productId, variantId: variant.id, quantity });
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
