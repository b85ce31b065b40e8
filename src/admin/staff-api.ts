import { z } from "@hono/zod-openapi";
import { problemResponseSpec } from "../platform/openapi";

/** Pieces every staff API sub-app shares (each sub-app is named by what it manages: `*-routes.ts`). */

/** A JSON request or response body of `schema`. */
export const jsonContent = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });

/** The refusals of the staff guard (src/admin/guard.ts), documented on every staff route. */
export const guarded = {
  401: problemResponseSpec("Not signed in"),
  403: problemResponseSpec("Not allowed for this role, or second factor missing"),
};

/** One page of a list: the cursor the previous page answered, and a page size. */
export const CursorQuery = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});
