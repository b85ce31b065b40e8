import { describe, expect, it } from "vitest";
import { htmlToText, sanitiseHtml } from "../../src/catalog/html-sanitiser";

/** Hostile descriptions: scripts, handlers, javascript: URLs in their usual disguises, markup that breaks out of the page. */
const HOSTILE = [
  "<script>alert(1)</script>",
  "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
  '<img src=x onerror="alert(1)">',
  "<svg onload=alert(1)><script>alert(2)</script></svg>",
  '<a href="javascript:alert(1)">x</a>',
  '<a href="jav&#x09;ascript:alert(1)">x</a>',
  '<a href="&#106;avascript:alert(1)">x</a>',
  '<a href=" JaVaScRiPt:alert(1)">x</a>',
  '<a href="javascript&colon;alert(1)">x</a>',
  '<a href="data:text/html,<script>alert(1)</script>">x</a>',
  '<a href="vbscript:msgbox(1)">x</a>',
  '<a href="//evil.example">x</a>',
  '<p style="background:url(javascript:alert(1))" onclick="alert(1)">x</p>',
  "<style>body{display:none}</style>",
  '<iframe src="https://evil.example"></iframe>',
  "<object data=x></object><embed src=x>",
  '<form action="https://evil.example"><input name=password><button>go</button></form>',
  "<!--<script>alert(1)</script>-->",
  "<scr<script>ipt>alert(1)</script>",
  '<a href="https://ok.example" onmouseover="alert(1)">ok</a>',
  "</div></main><script>alert(1)</script>",
  "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
  '<div title="x" onfocus=alert(1) autofocus tabindex=0>t</div>',
  "<plaintext><script>alert(1)</script>",
  "<template><script>alert(1)</script></template>",
  '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<base href="https://evil.example/">',
];

describe("Body (HTML) sanitiser", () => {
  it("keeps the allowed formatting, safe links and text", () => {
    expect(sanitiseHtml("<p>Soft <strong>cotton</strong> &amp; <em>linen</em>.<br/>Wash at 30°</p><ul><li>S</li><li>M</li></ul>")).toBe(
      "<p>Soft <strong>cotton</strong> &amp; <em>linen</em>.<br>Wash at 30°</p><ul><li>S</li><li>M</li></ul>",
    );
    expect(sanitiseHtml('<a href="https://example.com/size?x=1&amp;y=2" title="Sizes" class="c">sizes</a>')).toBe(
      '<a href="https://example.com/size?x=1&amp;y=2" rel="nofollow noopener noreferrer" title="Sizes">sizes</a>',
    );
    expect(sanitiseHtml('<a href="/products/mug">mug</a> <a href="mailto:shop@example.com">mail</a>')).toBe(
      '<a href="/products/mug">mug</a> <a href="mailto:shop@example.com">mail</a>',
    );
    expect(sanitiseHtml("5 < 6 & 7 > 3")).toBe("5 &lt; 6 &amp; 7 &gt; 3");
  });

  it("P03 XSS: script, style, event handlers and javascript: URLs never survive, and the output is balanced", () => {
    for (const input of HOSTILE) {
      const out = sanitiseHtml(input);
      expect(out, input).not.toMatch(/<script|<style|<iframe|<object|<embed|<svg|<math|<form|<input|<meta|<base|<img/i);
      expect(out, input).not.toMatch(/\son[a-z]+\s*=/i);
      expect(out, input).not.toMatch(/href="(?!https?:\/\/[^/]|\/[^/]|mailto:|#)/i);
      expect(out, input).not.toMatch(/javascript:|vbscript:|data:/i);
      expect(out, input).not.toMatch(/<\/main>|^<\//);
      // Balanced: every opened element closes; a stray close tag never reaches the page.
      const opened = (out.match(/<(?!\/)(?!br>|hr>)[a-z0-9]+/g) ?? []).length;
      const closed = (out.match(/<\/[a-z0-9]+>/g) ?? []).length;
      expect(closed, input).toBe(opened);
      // Sanitising twice changes nothing (an export re-imports unchanged).
      expect(sanitiseHtml(out), input).toBe(out);
    }
  });

  it("is idempotent on arbitrary markup and unclosed tags", () => {
    for (const input of [
      "<p>open <b>bold",
      "<ul><li>a<li>b</ul>",
      "&hellip; &nbsp; &#169; &bogus",
      '<a title="a &amp; &quot;b&quot;">t</a>',
      "<<p>>",
      "a <3 b",
    ]) {
      const once = sanitiseHtml(input);
      expect(sanitiseHtml(once), input).toBe(once);
    }
  });

  it("gives plain text for meta descriptions", () => {
    expect(htmlToText("<p>Soft&nbsp;cotton</p><script>x</script><ul><li>S</li></ul>")).toBe("Soft cotton S");
  });
});
