// Bastion staff pages: tells the server the browser's time zone (a `tz` cookie) so dates are
// written in it; the first page seen without the cookie is reloaded once. Pages work without it (UTC).
"use strict";
(function () {
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    zone = "";
  }
  if (!/^[A-Za-z0-9_+\-/]{1,64}$/.test(zone)) return;
  var had = document.cookie.split("; ").some(function (c) {
    return c === "tz=" + encodeURIComponent(zone);
  });
  document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax; secure";
  if (!had && document.documentElement.dataset.staffTz === "UTC" && zone !== "UTC" && window.location.search.indexOf("tzset") === -1) {
    var u = new URL(window.location.href);
    u.searchParams.set("tzset", "1");
    if (document.readyState !== "loading" || !document.querySelector("form[method=post]")) window.location.replace(u.toString());
  }
})();

// The new-product form: the slug follows the name as staff type it, until they type a slug of
// their own. `slugAuto` tells the server the slug was made here, so it makes it again itself (and
// adds a suffix when another product has it) instead of refusing a slug nobody chose.
(function () {
  var form = document.querySelector("form[data-slug-form]");
  if (!form) return;
  var source = form.querySelector("[data-slug-source]");
  var target = form.querySelector("[data-slug-target]");
  var auto = form.querySelector("[data-slug-auto]");
  if (!source || !target || !auto) return;
  var following = target.value === "" || auto.value === "1";
  function slugOf(name) {
    var s = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 100);
    return s.replace(/^-+|-+$/g, "");
  }
  source.addEventListener("input", function () {
    if (!following) return;
    target.value = slugOf(source.value);
    auto.value = target.value === "" ? "" : "1";
  });
  target.addEventListener("input", function () {
    following = target.value === "";
    auto.value = "";
  });
})();
