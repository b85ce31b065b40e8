import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { MAX_IMAGE_BYTES, readLimited, storeProductImage } from "../catalog/images";
import type { AppEnv } from "../platform/app-env";
import { SUPPORTED_LOCALES } from "../platform/locale";
import { ProblemError } from "../platform/problem";
import { forgetShopSettings, POLICY_PAGES, readShopSettings } from "../settings/shop-settings";
import { saveShopSettingsAudited, SettingsInput, settingsDocument } from "../settings/settings-update";
import { Layout } from "../web/layout";
import { firstIssue, formInto } from "./forms";
import { clientIp, staffUser } from "./guard";
import { StaffNav } from "./page-parts";

/** Room for the multipart framing around a largest image. */
const FORM_OVERHEAD = 64 * 1024;

const POLICY_LABELS: Record<(typeof POLICY_PAGES)[number], string> = {
  privacy: "Privacy policy (/privacy)",
  terms: "Terms of sale (/terms)",
  shipping: "Shipping (/shipping)",
  returns: "Returns (/returns)",
};

/** Blank is "none". */
const Optional = z
  .string()
  .trim()
  .transform((v) => (v === "" ? null : v));

/** The settings form as a browser posts it, read into the API's document and checked by the API's schema. */
const SettingsForm = formInto(
  z
    .object({
      shopName: z.string(),
      logoUrl: Optional.default(""),
      brandColour: z.string().trim(),
      accentColour: z.string().trim(),
      heroTitle: z.string(),
      heroText: z.string().default(""),
      footerLinks: z.string().default(""),
      contactEmail: Optional.default(""),
      contactAddress: Optional.default(""),
      defaultCurrency: z.string().trim(),
      defaultLocale: z.string(),
      returnWindowDays: z.string().trim(),
      privacy: z.string().default(""),
      terms: z.string().default(""),
      shipping: z.string().default(""),
      returns: z.string().default(""),
    })
    .transform((f) => ({
      shopName: f.shopName,
      logoUrl: f.logoUrl,
      brandColour: f.brandColour,
      accentColour: f.accentColour,
      heroTitle: f.heroTitle,
      heroText: f.heroText,
      // One link a line: "Label | address".
      footerLinks: f.footerLinks
        .split(/\r?\n/)
        .filter((line) => line.trim() !== "")
        .map((line) => {
          const bar = line.lastIndexOf("|");
          return bar < 0 ? { label: line.trim(), href: "" } : { label: line.slice(0, bar).trim(), href: line.slice(bar + 1).trim() };
        }),
      contactEmail: f.contactEmail,
      contactAddress: f.contactAddress?.replace(/\r\n?/g, "\n") ?? null,
      defaultCurrency: f.defaultCurrency,
      defaultLocale: f.defaultLocale,
      returnWindowDays: /^\d{1,3}$/.test(f.returnWindowDays) ? Number(f.returnWindowDays) : -1,
      policies: { privacy: f.privacy, terms: f.terms, shipping: f.shipping, returns: f.returns },
    })),
  SettingsInput,
);

/** What the form shows: the stored document, or what the admin typed when it was refused (nothing typed is lost). */
type FormValues = Record<string, string>;

function valuesOf(doc: SettingsInput): FormValues {
  return {
    shopName: doc.shopName,
    logoUrl: doc.logoUrl ?? "",
    brandColour: doc.brandColour,
    accentColour: doc.accentColour,
    heroTitle: doc.heroTitle,
    heroText: doc.heroText,
    footerLinks: doc.footerLinks.map((l) => `${l.label} | ${l.href}`).join("\n"),
    contactEmail: doc.contactEmail ?? "",
    contactAddress: doc.contactAddress ?? "",
    defaultCurrency: doc.defaultCurrency,
    defaultLocale: doc.defaultLocale,
    returnWindowDays: String(doc.returnWindowDays),
    ...doc.policies,
  };
}

function SettingsPage(props: { values: FormValues; error?: string | undefined; saved?: boolean }) {
  const v = props.values;
  return (
    <Layout title="Staff: settings">
      <StaffNav />
      <h1>Shop settings</h1>
      {props.error ? (
        <p class="form-message error" role="alert">
          {props.error}
        </p>
      ) : null}
      {props.saved ? (
        <p class="form-message ok" role="status">
          Saved. The shop's pages show the change now.
        </p>
      ) : null}
      <form method="post" action="/admin/settings" class="form settings-form">
        <input type="hidden" name="logoUrl" value={v.logoUrl} />
        <label>
          Shop name <input name="shopName" required maxlength={60} value={v.shopName} />
        </label>
        <label>
          Hero title <input name="heroTitle" required maxlength={120} value={v.heroTitle} />
        </label>
        <label>
          Hero text{" "}
          <textarea name="heroText" rows={2} maxlength={400}>
            {v.heroText}
          </textarea>
        </label>
        <label>
          Brand colour (buttons, links, hero; white text must be readable on it) <input name="brandColour" type="color" value={v.brandColour} />
        </label>
        <label>
          Accent colour (the cart badge) <input name="accentColour" type="color" value={v.accentColour} />
        </label>
        <label>
          Footer links, one a line: <code>Label | /path or https://…</code>
          <textarea name="footerLinks" rows={3}>
            {v.footerLinks}
          </textarea>
        </label>
        <label>
          Contact email <input name="contactEmail" type="email" maxlength={254} value={v.contactEmail} />
        </label>
        <label>
          Contact address{" "}
          <textarea name="contactAddress" rows={3} maxlength={500}>
            {v.contactAddress}
          </textarea>
        </label>
        <label>
          Default currency (ISO code) <input name="defaultCurrency" required maxlength={3} value={v.defaultCurrency} />
        </label>
        <label>
          Default locale (shoppers whose browser asks for none we have)
          <select name="defaultLocale">
            {SUPPORTED_LOCALES.map((locale) => (
              <option value={locale} selected={locale === v.defaultLocale}>
                {locale}
              </option>
            ))}
          </select>
        </label>
        <label>
          Return window (days after delivery) <input name="returnWindowDays" inputmode="numeric" required value={v.returnWindowDays} />
        </label>
        <p class="muted">
          Policy pages are Markdown: <code># heading</code>, <code>**bold**</code>, <code>*italic*</code>, <code>- list</code>, <code>[text](/path)</code>. HTML
          is shown as text.
        </p>
        {POLICY_PAGES.map((page) => (
          <label>
            {POLICY_LABELS[page]}
            <textarea name={page} rows={8} maxlength={20_000}>
              {v[page]}
            </textarea>
          </label>
        ))}
        <button type="submit">Save settings</button>
      </form>
      <form method="post" action="/admin/settings/logo" class="form settings-logo" enctype="multipart/form-data">
        <h2>Logo</h2>
        {v.logoUrl ? <img src={v.logoUrl} alt="The current logo" height="48" /> : <p>No logo: the header shows the shop's name.</p>}
        <label>
          Upload a logo (PNG, JPEG, GIF, WebP or AVIF, at most 5 MiB){" "}
          <input type="file" name="logo" accept="image/png,image/jpeg,image/gif,image/webp,image/avif" required />
        </label>
        <button type="submit">Upload logo</button>
      </form>
    </Layout>
  );
}

async function storedValues(c: Context<AppEnv>): Promise<FormValues> {
  forgetShopSettings();
  return valuesOf(settingsDocument(await readShopSettings(c.env.DB)));
}

const LOGO_ERRORS: Record<string, string> = {
  image_too_large: "That file is over 5 MiB: export a smaller image.",
  unsupported_image_type: "That file is not a PNG, JPEG, GIF, WebP or AVIF image (SVG and documents are refused).",
  image_missing: "Choose an image file first.",
};

/** The settings page (admin only: rolesFor), saving through the same audited function as the API. */
export const settingsPages = new Hono<AppEnv>()
  .get("/admin/settings", async (c) => {
    const error = c.req.query("logo_error");
    return c.html(<SettingsPage values={await storedValues(c)} saved={c.req.query("saved") === "1"} error={error ? LOGO_ERRORS[error] : undefined} />);
  })
  .post(
    "/admin/settings",
    zValidator("form", SettingsForm, async (result, c) => {
      if (result.success) return;
      const typed = Object.fromEntries(Object.entries(await c.req.parseBody()).map(([k, v]) => [k, typeof v === "string" ? v : ""]));
      return c.html(<SettingsPage values={{ ...(await storedValues(c as unknown as Context<AppEnv>)), ...typed }} error={firstIssue(result.error)} />, 422);
    }),
    async (c) => {
      try {
        await saveShopSettingsAudited(c.env, c.var.config, { id: staffUser(c).id, ip: clientIp(c) }, c.req.valid("form"));
      } catch (error) {
        if (!(error instanceof ProblemError) || error.status !== 422) throw error;
        const typed = Object.fromEntries(Object.entries(await c.req.parseBody()).map(([k, v]) => [k, typeof v === "string" ? v : ""]));
        return c.html(<SettingsPage values={{ ...(await storedValues(c)), ...typed }} error={error.detail ?? error.code} />, 422);
      }
      return c.redirect("/admin/settings?saved=1", 303);
    },
  )
  .post("/admin/settings/logo", async (c) => {
    const back = (error?: string) => c.redirect(error ? `/admin/settings?logo_error=${error}` : "/admin/settings?saved=1", 303);
    const declared = Number(c.req.header("content-length") ?? Number.NaN);
    if (declared > MAX_IMAGE_BYTES + FORM_OVERHEAD) return back("image_too_large");
    const raw = await readLimited(c.req.raw.body, MAX_IMAGE_BYTES + FORM_OVERHEAD);
    if (raw === null) return back("image_too_large");
    const form = await new Request(c.req.url, { method: "POST", headers: { "content-type": c.req.header("content-type") ?? "" }, body: raw })
      .formData()
      .catch(() => null);
    const file = form?.get("logo");
    if (!file || typeof file === "string" || file.size === 0) return back("image_missing");
    let url: string;
    try {
      url = (await storeProductImage(c.env.PRODUCT_IMAGES, new Uint8Array(await file.arrayBuffer()))).url;
    } catch (error) {
      if (error instanceof ProblemError) return back(error.code);
      throw error;
    }
    forgetShopSettings();
    const current = settingsDocument(await readShopSettings(c.env.DB));
    await saveShopSettingsAudited(c.env, c.var.config, { id: staffUser(c).id, ip: clientIp(c) }, { ...current, logoUrl: url });
    return back();
  });
