import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MarkdownContent, safeHref } from "../../src/settings/markdown";

const render = (source: string): string => String(MarkdownContent({ source }));

/** Every tag in the output with its attribute names (text is escaped, so every "<" is a tag we wrote). */
function tagsOf(html: string): { name: string; attributes: string[] }[] {
  return [...html.matchAll(/<\/?([a-zA-Z0-9]+)([^>]*)>/g)].map((m) => ({
    name: m[1]!.toLowerCase(),
    attributes: [...m[2]!.matchAll(/([^\s=]+)=/g)].map((a) => a[1]!),
  }));
}

const ALLOWED_TAGS = new Set(["h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "code", "a", "br"]);

describe("policy Markdown (a safe subset)", () => {
  it("renders headings, paragraphs, lists, emphasis, code and links", () => {
    expect(
      render(
        "# Title\n\nSome **bold**, *italic*, _also_ and `code`.\nSame paragraph.\n\n- one\n- two\n\n1. first\n2. second\n\n[ours](/terms) [theirs](https://example.com/x)",
      ),
    ).toBe(
      '<h2>Title</h2><p>Some <strong>bold</strong>, <em>italic</em>, <em>also</em> and <code>code</code>. Same paragraph.</p><ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol><p><a href="/terms">ours</a> <a href="https://example.com/x" rel="noopener noreferrer nofollow">theirs</a></p>',
    );
  });

  it("safeHref allows paths of this shop and https:, http:, mailto:, tel: only", () => {
    for (const ok of ["/terms", "/a/b?c=d#e", "#top", "https://example.com/", "http://example.com/a", "mailto:hi@example.com", "tel:+441234"])
      expect(safeHref(ok), ok).toBe(ok);
    for (const bad of [
      "javascript:alert(1)",
      "JAVASCRIPT:alert(1)",
      " javascript:alert(1)",
      "java\tscript:alert(1)",
      "java\u0000script:alert(1)",
      "data:text/html,<b>",
      "vbscript:msgbox",
      "file:///etc/passwd",
      "//evil.example/",
      "/\\evil.example",
      "https://user:pw@example.com/",
      'https://example.com/"onmouseover=',
      "&#106;avascript:alert(1)",
      "",
    ])
      expect(safeHref(bad), bad).toBeNull();
  });

  it("P03 Markdown fuzz: whatever the source, only the subset's tags and attributes come out, and every link passes the allow-list", () => {
    const pieces = fc.constantFrom(
      "<script>alert(1)</script>",
      "<img src=x onerror=alert(1)>",
      '"',
      "'",
      "<",
      ">",
      "&",
      "[",
      "]",
      "(",
      ")",
      "*",
      "**",
      "_",
      "`",
      "#",
      "# ",
      "- ",
      "1. ",
      "\n",
      "\n\n",
      " ",
      "\\",
      "javascript:alert(1)",
      "data:text/html,x",
      "/ok",
      "https://example.com",
      "onload=",
      "text",
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 40 }), (parts) => {
        const html = render(parts.join(""));
        for (const tag of tagsOf(html)) {
          expect(ALLOWED_TAGS.has(tag.name), tag.name).toBe(true);
          for (const attribute of tag.attributes) expect(["href", "rel"]).toContain(attribute);
        }
        for (const m of html.matchAll(/href="([^"]*)"/g)) expect(safeHref(m[1]!.replaceAll("&amp;", "&"))).not.toBeNull();
      }),
      { numRuns: 400 },
    );
  });
});
