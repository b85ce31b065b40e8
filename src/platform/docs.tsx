import { raw } from "hono/html";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { ASSETS } from "../web/asset-manifest";
import type { AppEnv } from "./app-env";
import { buildOpenApiDocument, registerSecuritySchemes } from "./openapi-document";

/**
 * Adds `GET /openapi.json` (OpenAPI 3.1 from the routes' zod schemas, buildOpenApiDocument) and
 * `GET /docs`, the API reference: Swagger UI vendored into public/ and served from our own origin
 * with SRI, under the unchanged CSP (no third-party script, T03).
 */
export function addApiDocs(api: OpenAPIHono<AppEnv>, cookies: { session: string; cart: string }): void {
  registerSecuritySchemes(api, cookies.session, cookies.cart);
  // Built once per isolate and per kind of deployment: the routes cannot change at run time.
  const documents = new Map<boolean, ReturnType<typeof buildOpenApiDocument>>();
  api.get("/openapi.json", (c) => {
    const devRoutes = c.var.config.devRoutes;
    let doc = documents.get(devRoutes);
    if (!doc) {
      doc = buildOpenApiDocument(api, devRoutes);
      documents.set(devRoutes, doc);
    }
    c.header("cache-control", "public, max-age=300");
    return c.json(doc);
  });
  api.get("/docs", (c) => {
    c.header("cache-control", "public, max-age=300");
    return c.html(
      <>
        {raw("<!DOCTYPE html>")}
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>API reference · Bastion</title>
            <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
            <link rel="stylesheet" href={ASSETS.css.path} integrity={ASSETS.css.integrity} crossorigin="anonymous" />
            <link rel="stylesheet" href={ASSETS.swaggerUiCss.path} integrity={ASSETS.swaggerUiCss.integrity} crossorigin="anonymous" />
            <script src={ASSETS.swaggerUi.path} integrity={ASSETS.swaggerUi.integrity} crossorigin="anonymous" defer></script>
            <script src={ASSETS.docs.path} integrity={ASSETS.docs.integrity} crossorigin="anonymous" defer></script>
          </head>
          <body>
            <header class="wrap api-docs-head">
              <p>
                <a href="/">← Back to the shop</a> · The OpenAPI 3.1 document: <a href="/api/openapi.json">/api/openapi.json</a> · A typed client:{" "}
                <code>client/</code> in the repository
              </p>
            </header>
            <main class="api-docs" id="api-docs" data-spec="/api/openapi.json">
              <h1 class="wrap">Bastion API reference</h1>
              <p class="wrap">
                Loading the reference… (it needs JavaScript; the document itself is plain <a href="/api/openapi.json">JSON</a>).
              </p>
            </main>
          </body>
        </html>
      </>,
    );
  });
}
