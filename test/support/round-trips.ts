import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { ORIGIN, randomTestAddress } from "./http";

/**
 * Counts the round trips a request makes from the worker: D1 (a statement's first/all/run/raw, a
 * batch, an exec; in a session or not) and Durable Object calls (each RPC method call on a stub,
 * by namespace and method). Counted, never timed (docs/capacity.md, "round-trip budgets"): a
 * budget is a number of calls a test can hold a route to.
 */
export interface RoundTrips {
  d1: number;
  /** e.g. `CART.addItem` → 1 */
  objects: Record<string, number>;
  objectCalls: number;
  /** D1 statements by the first words of their SQL, to say which call a change removed. */
  d1Statements: string[];
}

const OBJECT_BINDINGS = ["CART", "COUPON", "LOGIN_GUARD", "AUDIT_LOG", "STOCK_GATE"] as const;

/** Sends one request through the worker with counting bindings; the answer and what it cost. */
export async function countRoundTrips(path: string, init: RequestInit = {}): Promise<{ res: Response; trips: RoundTrips }> {
  const trips: RoundTrips = { d1: 0, objects: {}, objectCalls: 0, d1Statements: [] };
  const counting = {
    ...env,
    DB: countingD1(env.DB, trips),
    ...Object.fromEntries(OBJECT_BINDINGS.map((name) => [name, countingNamespace(name, env[name] as unknown as DurableObjectNamespace, trips)])),
  } as Env;
  const req = new Request(new URL(path, ORIGIN), init);
  if (!req.headers.has("cf-connecting-ip")) req.headers.set("cf-connecting-ip", randomTestAddress());
  const waits: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => waits.push(p), passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const res = await worker.fetch(req, counting, ctx);
  const snapshot: RoundTrips = { ...trips, objects: { ...trips.objects }, d1Statements: [...trips.d1Statements] };
  await Promise.allSettled(waits);
  return { res, trips: snapshot };
}

const real = new WeakMap<object, unknown>();
const unwrap = <T>(value: T): T => (typeof value === "object" && value !== null && real.has(value) ? (real.get(value) as T) : value);

function countingStatement(statement: D1PreparedStatement, sql: string, trips: RoundTrips): D1PreparedStatement {
  const proxy = new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "bind") return (...args: unknown[]) => countingStatement(value.apply(target, args), sql, trips);
      if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
        return (...args: unknown[]) => {
          trips.d1 += 1;
          trips.d1Statements.push(label(sql));
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  real.set(proxy, statement);
  return proxy;
}

function countingSession<T extends D1Database | D1DatabaseSession>(db: T, trips: RoundTrips): T {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (sql: string) => countingStatement(value.call(target, sql), sql, trips);
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          trips.d1 += 1;
          trips.d1Statements.push(`batch(${statements.length})`);
          return value.call(target, statements.map(unwrap));
        };
      }
      if (prop === "exec") {
        return (sql: string) => {
          trips.d1 += 1;
          trips.d1Statements.push(label(sql));
          return value.call(target, sql);
        };
      }
      if (prop === "withSession") return (constraint?: string) => countingSession(value.call(target, constraint), trips);
      return value.bind(target);
    },
  });
}

function countingD1(db: D1Database, trips: RoundTrips): D1Database {
  return countingSession(db, trips);
}

function countingNamespace(name: string, ns: DurableObjectNamespace, trips: RoundTrips): DurableObjectNamespace {
  const wrapStub = (stub: DurableObjectStub): DurableObjectStub =>
    new Proxy(stub, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof prop !== "string" || prop === "then" || prop === "id" || prop === "name" || typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const key = `${name}.${prop}`;
          trips.objects[key] = (trips.objects[key] ?? 0) + 1;
          trips.objectCalls += 1;
          // An RPC method is a callable proxy: `.apply` would be taken as a remote method name.
          return Reflect.apply(value, target, args);
        };
      },
    });
  return new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "getByName" || prop === "get") return (...args: unknown[]) => wrapStub(Reflect.apply(value, target, args));
      return value.bind(target);
    },
  });
}

function label(sql: string): string {
  return sql.replace(/\s+/g, " ").trim().slice(0, 60);
}
