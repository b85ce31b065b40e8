// The API reference page: Swagger UI (vendored from swagger-ui-dist, served from our own origin
// with SRI) rendering /api/openapi.json. "Try it out" calls the API from this origin with the
// visitor's own session; nothing is sent anywhere else (no validator badge, no telemetry).
"use strict";
(function () {
  const root = document.getElementById("api-docs");
  if (!root || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: false,
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
    displayOperationId: true,
    tryItOutEnabled: false,
    supportedSubmitMethods: ["get", "put", "post", "delete", "patch"],
  });
})();
