import { describe, expect, it } from "vitest";
import { flag, html, raw } from "./html.js";

describe("html", () => {
  it("escapes every interpolated string, including attribute quotes", () => {
    const evil = `"><script>alert('x')</script>&`;
    const out = html`<td title="${evil}">${evil}</td>`.value;
    expect(out).toBe('<td title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</td>');
    expect(out).not.toContain("<script>");
  });

  it("keeps nested html and raw markup, joins arrays and drops null, undefined and false", () => {
    const items = ["a<b", "c"].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${raw("<hr>")}${0}`.value).toBe("<ul><li>a&lt;b</li><li>c</li></ul><hr>0");
  });

  it("renders a boolean attribute only when on", () => {
    expect(html`<option${flag("selected", true)}>x</option><option${flag("selected", false)}>y</option>`.value).toBe("<option selected>x</option><option>y</option>");
  });
});
