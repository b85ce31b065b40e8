import { Hono } from "hono";
import { readLimited } from "../catalog/images";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { Layout } from "../web/layout";
import { actorOf } from "./guard";
import type { ImportReport } from "./product-import";
import { importProductCsv, MAX_IMPORT_BYTES } from "./product-import-run";
import { Alert, refusalOf, StaffNav } from "./page-parts";

/** Room for the multipart framing around a largest file. */
const FORM_OVERHEAD = 64 * 1024;
/** Where a previewed file waits for "Import" (the product image bucket; /media serves only products/). */
const STAGED = (id: string): string => `imports/${id}.csv`;
const STAGED_ID = /^[0-9a-f]{32}$/;

function UploadForm() {
  return (
    <form class="stack" method="post" action="/admin/product-imports/preview" enctype="multipart/form-data">
      <h2>Import</h2>
      <p class="hint">
        Shopify's product CSV (Handle, Title, Body (HTML), Vendor, Type, Tags, Option1–3, Variant SKU, Variant Price, Variant Inventory Qty, Image Src,
        Status…), at most 8 MiB. You see what it would do before anything changes.
      </p>
      <label>
        CSV file <input type="file" name="file" accept=".csv,text/csv" required />
      </label>
      <button type="submit">Preview import</button>
    </form>
  );
}

function Counts(props: { label: string; counts: ImportReport["products"]; dryRun: boolean }) {
  const c = props.counts;
  const verb = props.dryRun ? ["would be created", "would be updated"] : ["created", "updated"];
  return (
    <li>
      {props.label}: {c.created} {verb[0]}, {c.updated} {verb[1]}, {c.unchanged} unchanged
    </li>
  );
}

function ReportView(props: { report: ImportReport }) {
  const r = props.report;
  return (
    <section aria-labelledby="report-title" data-import-report>
      <h2 id="report-title">{r.dryRun ? "Preview: nothing has changed yet" : "Imported"}</h2>
      <ul>
        <li>{r.rows} rows read</li>
        <Counts label="Products" counts={r.products} dryRun={r.dryRun} />
        <Counts label="Variants" counts={r.variants} dryRun={r.dryRun} />
        <li>{r.refused.length} rows refused</li>
        {r.images.stored > 0 || r.images.failed.length > 0 ? (
          <li>
            Images: {r.images.stored} stored, {r.images.failed.length} could not be fetched
          </li>
        ) : null}
      </ul>
      {r.refused.length > 0 ? (
        <div class="table-scroll">
          <table>
            <caption>Refused rows</caption>
            <thead>
              <tr>
                <th scope="col">Line</th>
                <th scope="col">Handle</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {r.refused.slice(0, 500).map((row) => (
                <tr>
                  <td>{row.line}</td>
                  <td>{row.handle ?? ""}</td>
                  <td>{row.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {r.images.failed.length > 0 ? (
        <details>
          <summary>Images that could not be fetched</summary>
          <ul>
            {r.images.failed.slice(0, 200).map((f) => (
              <li>
                Line {f.line}: {f.url.slice(0, 200)} ({f.reason})
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}

function ImportPage(props: { report?: ImportReport; stagedId?: string; error?: string }) {
  return (
    <Layout title="Staff: import and export products">
      <StaffNav />
      <h1>Import and export products</h1>
      <Alert message={props.error} />
      {props.report ? <ReportView report={props.report} /> : null}
      {props.stagedId ? (
        <form method="post" action="/admin/product-imports/apply" class="stack">
          <input type="hidden" name="staged" value={props.stagedId} />
          <button type="submit">Import these products</button>
        </form>
      ) : null}
      <UploadForm />
      <section class="stack">
        <h2>Export</h2>
        <p>
          <a href="/api/admin/product-exports" download>
            Download every product as Shopify CSV
          </a>
        </p>
      </section>
    </Layout>
  );
}

/** Staff page: upload a Shopify CSV, preview the report (a dry run), then import it; export link. Admin only (the staff guard). */
export const productImportPages = new Hono<AppEnv>()
  .get("/admin/product-imports", (c) => c.html(<ImportPage />))
  .post("/admin/product-imports/preview", async (c) => {
    const declared = Number(c.req.header("content-length") ?? Number.NaN);
    const tooLarge = "That file is over 8 MiB: split it.";
    if (declared > MAX_IMPORT_BYTES + FORM_OVERHEAD) return c.html(<ImportPage error={tooLarge} />, 413);
    const raw = await readLimited(c.req.raw.body, MAX_IMPORT_BYTES + FORM_OVERHEAD);
    if (raw === null) return c.html(<ImportPage error={tooLarge} />, 413);
    const form = await new Request(c.req.url, { method: "POST", headers: { "content-type": c.req.header("content-type") ?? "" }, body: raw })
      .formData()
      .catch(() => null);
    const file = form?.get("file");
    if (!file || typeof file === "string" || file.size === 0) return c.html(<ImportPage error="Choose a CSV file first." />, 422);
    const bytes = new Uint8Array(await file.arrayBuffer());
    try {
      const report = await importProductCsv(c.env, actorOf(c), new Blob([bytes]).stream(), { dryRun: true });
      const stagedId = crypto.randomUUID().replaceAll("-", "");
      await c.env.PRODUCT_IMAGES.put(STAGED(stagedId), bytes, { customMetadata: { actor: actorOf(c).id } });
      return c.html(<ImportPage report={report} stagedId={stagedId} />);
    } catch (error) {
      const refusal = refusalOf(error);
      return c.html(<ImportPage error={refusal.message} />, refusal.status);
    }
  })
  .post("/admin/product-imports/apply", async (c) => {
    const form = await c.req.parseBody();
    const stagedId = typeof form.staged === "string" && STAGED_ID.test(form.staged) ? form.staged : null;
    const object = stagedId ? await c.env.PRODUCT_IMAGES.get(STAGED(stagedId)) : null;
    // Only the person who previewed a file imports it.
    if (!object || object.customMetadata?.actor !== actorOf(c).id) {
      return c.html(<ImportPage error="That preview is no longer available: upload the file again." />, 404);
    }
    try {
      const report = await importProductCsv(c.env, actorOf(c), object.body, { dryRun: false });
      await c.env.PRODUCT_IMAGES.delete(STAGED(stagedId!));
      return c.html(<ImportPage report={report} />);
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      const refusal = refusalOf(error);
      return c.html(<ImportPage error={refusal.message} />, refusal.status);
    }
  });
