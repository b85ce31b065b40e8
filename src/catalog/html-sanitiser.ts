// Product descriptions are HTML (Shopify's `Body (HTML)`), written by staff or brought in by an
// import from anywhere. Before a description is ever rendered it goes through this allow-list:
// a few formatting tags, `href` and `title` on links, nothing else. Everything else is dropped:
// script, style and other elements whose content is code or markup go with their content; any
// other unknown tag goes but its text stays. Every attribute not listed (on*, style, class, src…)
// goes. A link keeps its href only when it is http(s), mailto, a path on this shop or a fragment,
// checked after decoding character references and removing the control and space characters
// browsers ignore in a URL (so `jav&#x09;ascript:` and `&#106;avascript:` are refused).
// The output is balanced (every tag it opens it closes; a stray close tag cannot close the page's
// own elements) and sanitising it again gives the same text (an export re-imports unchanged).

/** Tags kept, with the attributes each may keep. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  a: ["href", "title"],
  p: [],
  br: [],
  hr: [],
  strong: [],
  b: [],
  em: [],
  i: [],
  u: [],
  s: [],
  small: [],
  sub: [],
  sup: [],
  code: [],
  pre: [],
  blockquote: [],
  ul: [],
  ol: [],
  li: [],
  h2: [],
  h3: [],
  h4: [],
  h5: [],
  h6: [],
  span: [],
  div: [],
  table: [],
  thead: [],
  tbody: [],
  tr: [],
  th: [],
  td: [],
};

const VOID = new Set(["br", "hr", "img", "input", "meta", "link", "base", "embed", "source", "track", "wbr", "area", "col", "param", "frame", "keygen"]);

/** Dropped together with everything inside them: their content is code, markup or a form. */
const DROP_WITH_CONTENT = new Set([
  "script",
  "style",
  "iframe",
  "object",
  "template",
  "noscript",
  "noembed",
  "noframes",
  "textarea",
  "title",
  "xmp",
  "plaintext",
  "svg",
  "math",
  "select",
  "head",
  "frameset",
  "applet",
  "form",
  "button",
]);

const NAMED: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  colon: ":",
  tab: "\t",
  newline: "\n",
  nbsp: "\u00a0",
  sol: "/",
  period: ".",
  lpar: "(",
  rpar: ")",
};

/** Decodes numeric references and the named ones above (enough to see what scheme a URL has). */
function decodeReferences(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (whole, ref: string) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X" ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : "\ufffd";
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

function escapeAttribute(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Text as HTML: a well-formed character reference stays, every other `&`, `<` and `>` is escaped. */
function escapeText(text: string): string {
  return text
    .replace(/&(?!(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});)/gi, "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;");
}

/** An href this shop will render, or null. */
function safeHref(raw: string): string | null {
  // Browsers strip leading/trailing C0 controls and spaces and remove tabs and newlines anywhere.
  const url = [...decodeReferences(raw)].filter((ch) => ch.charCodeAt(0) > 0x20 && ch !== "\u007f").join("");
  if (/^(?:https?:\/\/[^/\\]|mailto:|\/(?![/\\])|#)/i.test(url)) return url;
  return null;
}

const TAG = /^<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/;
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

function attributesOf(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of text.matchAll(ATTRIBUTE)) {
    const name = m[1]!.toLowerCase();
    if (!found.has(name)) found.set(name, m[2] ?? m[3] ?? m[4] ?? "");
  }
  return found;
}

function openTag(name: string, attributes: Map<string, string>): string {
  let out = `<${name}`;
  for (const allowed of ALLOWED[name]!) {
    const value = attributes.get(allowed);
    if (value === undefined) continue;
    if (allowed === "href") {
      const href = safeHref(value);
      if (href === null) continue;
      out += ` href="${escapeAttribute(href)}"`;
      if (/^https?:/i.test(href)) out += ' rel="nofollow noopener noreferrer"';
    } else out += ` ${allowed}="${escapeAttribute(decodeReferences(value))}"`;
  }
  return `${out}>`;
}

/** Where the element `name` opened just before `from` ends (its matching close tag, nesting counted), or the end of the input. */
function skipElement(html: string, name: string, from: number): number {
  const pattern = new RegExp(`<(/?)${name}(?=[\\s/>])[^>]*>`, "gi");
  pattern.lastIndex = from;
  let depth = 1;
  for (let m = pattern.exec(html); m; m = pattern.exec(html)) {
    // Raw-text elements (script, style…) end at the first close tag whatever they contain.
    if (m[1]) depth--;
    else if (!["script", "style", "textarea", "title", "xmp"].includes(name)) depth++;
    if (depth === 0) return m.index + m[0].length;
  }
  return html.length;
}

/** A description's HTML reduced to the allowed subset (see the top of this file). */
export function sanitiseHtml(html: string): string {
  let out = "";
  const open: string[] = [];
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf("<", i);
    if (lt === -1) {
      out += escapeText(html.slice(i));
      break;
    }
    out += escapeText(html.slice(i, lt));
    i = lt;
    const rest = html.slice(i, i + 4);
    if (rest.startsWith("<!--")) {
      const end = html.indexOf("-->", i + 4);
      i = end === -1 ? html.length : end + 3;
      continue;
    }
    if (rest.startsWith("<!") || rest.startsWith("<?")) {
      const end = html.indexOf(">", i);
      i = end === -1 ? html.length : end + 1;
      continue;
    }
    const tag = TAG.exec(html.slice(i, i + 4096));
    if (!tag) {
      out += "&lt;";
      i++;
      continue;
    }
    i += tag[0].length;
    const closing = tag[1] === "/";
    const name = tag[2]!.toLowerCase();
    if (!closing && DROP_WITH_CONTENT.has(name)) {
      if (name === "plaintext") break;
      if (!tag[3]!.trimEnd().endsWith("/") || name === "script" || name === "style") i = skipElement(html, name, i);
      continue;
    }
    if (!(name in ALLOWED)) continue;
    if (closing) {
      const at = open.lastIndexOf(name);
      if (at === -1) continue;
      while (open.length > at) out += `</${open.pop()}>`;
      continue;
    }
    out += openTag(name, attributesOf(tag[3]!));
    if (!VOID.has(name)) open.push(name);
  }
  while (open.length > 0) out += `</${open.pop()}>`;
  return out;
}

/** A description as plain text (meta description, structured data, search): tags gone, references decoded, spaces collapsed. */
export function htmlToText(html: string): string {
  return decodeReferences(sanitiseHtml(html).replace(/<[^>]*>/g, " "))
    .replace(/\s+/g, " ")
    .trim();
}
