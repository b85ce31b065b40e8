declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}

/** Vite's `?raw` import: a fixture file's text (test/catalog-io/fixtures). */
declare module "*?raw" {
  const text: string;
  export default text;
}
