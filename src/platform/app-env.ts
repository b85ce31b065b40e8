import type { Config } from "./config";

/** Hono's typing for this worker: bindings from `wrangler types`, per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    /** Per-response CSP nonce, for the rare inline script a page needs. */
    nonce: string;
  };
}
