// The Markdown of policy pages, as a small subset rendered straight into JSX elements (decision
// 022): headings, paragraphs, lists, bold, italic, inline code and links. There is no HTML
// pass-through at all: every character of the source ends up as escaped text, and the only
// elements and attributes that can ever come out are the ones written below (h2–h4, p, ul, ol,
// li, strong, em, code, a with href and rel). A link whose address is not on the allow-list
// (`safeHref`: paths of this shop, https:, http:, mailto:, tel:) is shown as its text, unlinked.
import type { Child } from "hono/jsx";

/** The longest policy the shop stores (characters): a long privacy notice, not a book. */
export const MAX_MARKDOWN_LENGTH = 20_000;

const ALLOWED_SCHEMES = new Set(["https:", "http:", "mailto:", "tel:"]);

/**
 * `href` when it is a link the shop may show: a path on this shop (`/…`, never `//host` or a
 * backslash), a `#fragment`, or an absolute https:, http:, mailto: or tel: URL; null for anything
 * else (javascript:, data:, vbscript:, file:, a scheme hidden behind control characters or
 * entities). Checked on the text as given: nothing is decoded first, so what is checked is what
 * the browser gets (escaped by JSX).
 */
export function safeHref(href: string): string | null {
  // Whitespace and control characters are where scheme filters get fooled ("java\tscript:").
  if (href.length === 0 || href.length > 500 || /[\s\\<>"'`]/.test(href) || hasControlCharacter(href)) return null;
  if (href.startsWith("#")) return /^#[A-Za-z0-9_-]{0,100}$/.test(href) ? href : null;
  if (href.startsWith("/")) return href.startsWith("//") ? null : href;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  if (!ALLOWED_SCHEMES.has(url.protocol)) return null;
  // The scheme as written must be the one the parser saw (no "JaVaScRiPt:" games, no entities).
  if (!href.toLowerCase().startsWith(url.protocol)) return null;
  if ((url.protocol === "https:" || url.protocol === "http:") && (url.hostname === "" || url.username !== "" || url.password !== "")) return null;
  return href;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

// Each alternative stops at the next delimiter of its own kind, so matching stays linear in the text.
const INLINE =
  /\\([\\`*_[\]()#+\-.!>])|`([^`\n]{1,500})`|\*\*([^*\n]{1,1000})\*\*|\*([^*\n]{1,1000})\*|(?<![A-Za-z0-9])_([^_\n]{1,1000})_(?![A-Za-z0-9])|\[([^\]\n]{1,200})\]\(([^()\s]{1,500})\)/g;

/** Inline Markdown as JSX children: strings (escaped when rendered) and the subset's elements. */
function inline(text: string, inLink = false, depth = 0): Child[] {
  if (depth > 4) return [text];
  const out: Child[] = [];
  let at = 0;
  for (const m of text.matchAll(INLINE)) {
    const index = m.index ?? 0;
    if (index > at) out.push(text.slice(at, index));
    at = index + m[0].length;
    const [, escaped, code, strong, em, underscored, label, href] = m;
    if (escaped !== undefined) out.push(escaped);
    else if (code !== undefined) out.push(<code>{code}</code>);
    else if (strong !== undefined) out.push(<strong>{inline(strong, inLink, depth + 1)}</strong>);
    else if (em !== undefined || underscored !== undefined) out.push(<em>{inline(em ?? underscored ?? "", inLink, depth + 1)}</em>);
    else if (label !== undefined && href !== undefined) {
      const safe = inLink ? null : safeHref(href);
      const content = inline(label, true, depth + 1);
      if (safe === null) out.push(...content);
      else
        out.push(
          <a href={safe} rel={safe.startsWith("/") || safe.startsWith("#") ? undefined : "noopener noreferrer nofollow"}>
            {content}
          </a>,
        );
    }
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

type Block = { kind: "heading"; level: number; text: string } | { kind: "paragraph"; lines: string[] } | { kind: "list"; ordered: boolean; items: string[] };

/** The source's blocks: ATX headings (#, ##, ###), lists (-, *, 1.), paragraphs; blank lines end a block. */
export function markdownBlocks(source: string): Block[] {
  const blocks: Block[] = [];
  let open: Block | null = null;
  const close = () => {
    if (open) blocks.push(open);
    open = null;
  };
  for (const raw of source.slice(0, MAX_MARKDOWN_LENGTH).replace(/\r\n?/g, "\n").split("\n")) {
    const line = raw.trimEnd();
    if (line.trim() === "") {
      close();
      continue;
    }
    const heading = /^(#{1,3})\s+(.+?)\s*#*$/.exec(line);
    const bullet = /^\s{0,3}[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s{0,3}\d{1,3}[.)]\s+(.*)$/.exec(line);
    const current = open as Block | null;
    if (heading) {
      close();
      blocks.push({ kind: "heading", level: heading[1]!.length, text: heading[2]! });
    } else if (bullet || numbered) {
      const ordered = !bullet;
      const text = (bullet ?? numbered)![1]!;
      if (current?.kind === "list" && current.ordered === ordered) current.items.push(text);
      else {
        close();
        open = { kind: "list", ordered, items: [text] };
      }
    } else if (current?.kind === "list" && /^\s+/.test(raw)) {
      // An indented line continues the list's last item.
      current.items[current.items.length - 1] += ` ${line.trim()}`;
    } else if (current?.kind === "paragraph") current.lines.push(line.trim());
    else {
      close();
      open = { kind: "paragraph", lines: [line.trim()] };
    }
  }
  close();
  return blocks;
}

/**
 * A policy's Markdown as page content. Headings start at h2 (the page's title is its h1), so a
 * merchant's `#` never competes with it.
 */
export function MarkdownContent({ source }: { source: string }) {
  return (
    <>
      {markdownBlocks(source).map((block) => {
        if (block.kind === "heading") {
          const content = inline(block.text);
          return block.level === 1 ? <h2>{content}</h2> : block.level === 2 ? <h3>{content}</h3> : <h4>{content}</h4>;
        }
        if (block.kind === "list") {
          const items = block.items.map((item) => <li>{inline(item)}</li>);
          return block.ordered ? <ol>{items}</ol> : <ul>{items}</ul>;
        }
        return <p>{inline(block.lines.join(" "))}</p>;
      })}
    </>
  );
}
