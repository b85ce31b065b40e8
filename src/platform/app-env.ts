import type { RequestIdVariables } from "hono/request-id";
import type { Config } from "./config";

/** Hono's typing for this worker: bindings from `wrangler types`, per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables & {
    config: Config;
  };
}
