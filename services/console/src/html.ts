/**
 * HTML built from template literals, escaped by default: every interpolated value is text unless it is an
 * `Html` value made by this module (`html` itself, or `raw` for markup the code wrote). Pages never build
 * markup by string concatenation.
 */
const ESCAPES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Markup that is already safe. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(v: Part): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  return escapeHtml(String(v));
}

/** `html\`<td>${value}</td>\``: values are escaped; arrays are joined; null, undefined and false render nothing. */
export function html(strings: TemplateStringsArray, ...values: readonly Part[]): Html {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? "");
  return new Html(out);
}

/** Markup written by the code itself (never data). */
export const raw = (s: string): Html => new Html(s);

/** An attribute that is present only when `on` (e.g. `selected`, `disabled`). */
export const flag = (name: string, on: boolean): Html => new Html(on ? ` ${name}` : "");
