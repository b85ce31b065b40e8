// What an OpenAPI change breaks for a client written against the old document: removed
// operations, responses and fields, renamed operationIds, request rules made stricter, response
// types made wider. Used by `npm run openapi` (scripts/openapi.ts), which refuses to write a
// snapshot with breaking changes unless told `--accept-breaking`, and by test/api/document.test.ts
// to explain a mismatch. Plain data in, plain strings out: it runs in Node and in workerd.

type Json = Record<string, unknown>;
type Doc = { paths?: Record<string, Record<string, Json>>; components?: { schemas?: Record<string, Json> } };

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

function resolver(doc: Doc): (schema: unknown) => Json {
  return (schema) => {
    let s = (schema ?? {}) as Json;
    for (let i = 0; i < 20 && typeof s.$ref === "string"; i++) s = doc.components?.schemas?.[s.$ref.replace("#/components/schemas/", "")] ?? {};
    return s;
  };
}

function typesOf(s: Json): Set<string> {
  const t = s.type;
  const out = new Set(Array.isArray(t) ? (t as string[]) : typeof t === "string" ? [t] : []);
  for (const alt of [...((s.anyOf as Json[]) ?? []), ...((s.oneOf as Json[]) ?? [])]) if (alt && typeof alt.type === "string") out.add(alt.type);
  return out;
}

const isSubset = (a: Set<string>, b: Set<string>): boolean => [...a].every((x) => b.has(x) || (x === "integer" && b.has("number")));

/**
 * `direction` says who reads the schema: a `response` breaks clients when it loses a field, makes
 * a field optional or accepts more types; a `request` breaks them when it demands a new field,
 * drops a field (bodies are strict), accepts fewer types or values, or tightens a limit.
 */
function compareSchemas(
  where: string,
  oldS: Json,
  newS: Json,
  direction: "request" | "response",
  ro: (s: unknown) => Json,
  rn: (s: unknown) => Json,
  out: string[],
  depth = 0,
): void {
  if (depth > 12) return;
  const o = ro(oldS);
  const n = rn(newS);
  const ot = typesOf(o);
  const nt = typesOf(n);
  if (ot.size > 0 && nt.size > 0) {
    if (direction === "response" && !isSubset(nt, ot)) out.push(`${where}: response type widened from ${[...ot]} to ${[...nt]}`);
    if (direction === "request" && !isSubset(ot, nt)) out.push(`${where}: request type narrowed from ${[...ot]} to ${[...nt]}`);
  }
  const oEnum = o.enum as unknown[] | undefined;
  const nEnum = n.enum as unknown[] | undefined;
  if (direction === "request" && oEnum && nEnum)
    for (const v of oEnum) if (!nEnum.includes(v)) out.push(`${where}: request value ${JSON.stringify(v)} no longer accepted`);
  if (direction === "request") {
    for (const [key, tighter] of [
      ["maxLength", (a: number, b: number) => b < a],
      ["maximum", (a: number, b: number) => b < a],
      ["maxItems", (a: number, b: number) => b < a],
      ["minLength", (a: number, b: number) => b > a],
      ["minimum", (a: number, b: number) => b > a],
    ] as const) {
      const a = o[key];
      const b = n[key];
      if (typeof b === "number" && (typeof a !== "number" || tighter(a, b))) out.push(`${where}: request limit ${key} tightened from ${a ?? "none"} to ${b}`);
    }
  }
  if (direction === "request" && typeof n.pattern === "string" && n.pattern !== o.pattern) out.push(`${where}: request pattern changed to ${n.pattern}`);
  const oProps = (o.properties ?? {}) as Record<string, Json>;
  const nProps = (n.properties ?? {}) as Record<string, Json>;
  const oReq = new Set((o.required as string[]) ?? []);
  const nReq = new Set((n.required as string[]) ?? []);
  for (const [name, schema] of Object.entries(oProps)) {
    const at = `${where}.${name}`;
    if (!(name in nProps)) {
      out.push(`${at}: ${direction} field removed`);
      continue;
    }
    if (direction === "response" && oReq.has(name) && !nReq.has(name)) out.push(`${at}: response field no longer always present`);
    compareSchemas(at, schema, nProps[name]!, direction, ro, rn, out, depth + 1);
  }
  if (direction === "request") for (const name of nReq) if (!oReq.has(name)) out.push(`${where}.${name}: request field now required`);
  if (o.items && n.items) compareSchemas(`${where}[]`, o.items as Json, n.items as Json, direction, ro, rn, out, depth + 1);
}

const jsonSchemaOf = (content: unknown): Json | null => {
  const c = (content ?? {}) as Record<string, { schema?: Json }>;
  return c["application/json"]?.schema ?? c["application/problem+json"]?.schema ?? null;
};

/** Every change from `oldDoc` to `newDoc` that can break a client of `oldDoc`, as sentences. */
export function breakingChanges(oldDoc: Doc, newDoc: Doc): string[] {
  const out: string[] = [];
  const ro = resolver(oldDoc);
  const rn = resolver(newDoc);
  for (const [path, item] of Object.entries(oldDoc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const name = `${method.toUpperCase()} ${path}`;
      const next = newDoc.paths?.[path]?.[method] as Json | undefined;
      if (!next) {
        out.push(`${name}: operation removed`);
        continue;
      }
      if (op.operationId !== next.operationId) out.push(`${name}: operationId changed from ${String(op.operationId)} to ${String(next.operationId)}`);
      const params = (o: Json) => new Map(((o.parameters as Json[]) ?? []).map((p) => [`${String(p.in)}:${String(p.name)}`, p]));
      const oldParams = params(op);
      const newParams = params(next);
      for (const [key, p] of newParams) if (p.required && !oldParams.get(key)?.required) out.push(`${name}: parameter ${key} now required`);
      for (const [key, p] of oldParams) {
        const q = newParams.get(key);
        if (!q) out.push(`${name}: parameter ${key} removed`);
        else compareSchemas(`${name} parameter ${key}`, p.schema as Json, q.schema as Json, "request", ro, rn, out);
      }
      const oldBody = jsonSchemaOf((op.requestBody as Json | undefined)?.content);
      const newBody = jsonSchemaOf((next.requestBody as Json | undefined)?.content);
      if (!oldBody && newBody && (next.requestBody as Json).required) out.push(`${name}: request body now required`);
      if (oldBody && newBody) compareSchemas(`${name} body`, oldBody, newBody, "request", ro, rn, out);
      const oldResponses = (op.responses ?? {}) as Record<string, Json>;
      const newResponses = (next.responses ?? {}) as Record<string, Json>;
      for (const [status, response] of Object.entries(oldResponses)) {
        if (!status.startsWith("2")) continue;
        const now = newResponses[status];
        if (!now) {
          out.push(`${name}: response ${status} removed`);
          continue;
        }
        const a = jsonSchemaOf(response.content);
        const b = jsonSchemaOf(now.content);
        if (a && !b) out.push(`${name} ${status}: response body removed`);
        if (a && b) compareSchemas(`${name} ${status}`, a, b, "response", ro, rn, out);
      }
    }
  }
  return out;
}
