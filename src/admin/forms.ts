import type { z } from "zod";

/**
 * A staff form checked by the API's own schema: `fields` reads the form as a browser posts it
 * (text fields, a checkbox "on" or absent) into the API's body, then `api` (the JSON route's
 * schema) checks it, so the form and the API follow one set of rules. The API's schemas take any
 * input (a JSON body); the cast only types them as the pipe's second stage.
 */
export function formInto<Fields extends z.ZodType, Api extends z.ZodType>(fields: Fields, api: Api) {
  return fields.pipe(api as unknown as z.ZodType<z.output<Api>, z.output<Fields>>);
}

/** The first problem of a refused form, as staff read it: `field: message`. */
export function firstIssue(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.map(String).join(".") || "form"}: ${issue.message}` : "The form breaks a rule.";
}
