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
