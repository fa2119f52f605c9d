/** Who receives what: for one policy version, each event type's fields against the recipients, with the deciding rules. */
import type { HistoryItem, MatrixCell, MatrixRow, PolicyMatrix } from "@parcel-exchange/policy-api";
import { flag, html, type Html } from "../html.js";
import { csrfField, page, type Notice, type PageContext } from "./layout.js";

const NOT_DELIVERED = "(not delivered)";

function cellClass(action: string): string {
  return action === NOT_DELIVERED ? "a a-none" : `a a-${action.replace(/[^a-z]/g, "")}`;
}

function cell(row: MatrixRow | undefined, party: string, type: string, field: string): Html {
  if (!row) return html`<td data-party="${party}" data-type="${type}" data-field="${field}" class="empty"><span class="sr-only">not shown</span>—</td>`;
  const total = row.cells.reduce((n, c) => n + c.cases, 0);
  const label = (c: MatrixCell) => html`<span class="${cellClass(c.action)}">${c.action}</span>${row.cells.length > 1 ? html` <small>${c.cases}/${total}</small>` : ""}`;
  return html`<td data-party="${party}" data-type="${type}" data-field="${field}" data-actions="${row.cells.map((c) => c.action).join(",")}">
<details><summary>${row.cells.map((c, i) => html`${i > 0 ? html`<br>` : ""}${label(c)}`)}</summary>
<ul class="rules">${row.cells.map((c) => html`<li><span class="${cellClass(c.action)}">${c.action}</span> in ${c.cases} of ${total} cases: ${c.rules.map((r, i) => html`${i > 0 ? ", " : ""}<code>${r}</code>`)}</li>`)}</ul></details></td>`;
}

export function matrixPage(ctx: PageContext, m: PolicyMatrix, history: readonly HistoryItem[], o: { readonly notice?: Notice } = {}): string {
  const versions = [...new Set(history.filter((h) => h.kind === "published").map((h) => h.version))].reverse();
  if (!versions.includes(m.version)) versions.unshift(m.version);
  const rows = new Map(m.rows.map((r) => [`${r.party}|${r.eventType}|${r.field}`, r]));
  const isRegulator = ctx.session?.role === "regulator";
  const sections = m.eventTypes.map((type) => {
    const fields = [...new Map(m.rows.filter((r) => r.eventType === type).map((r) => [r.field, r.dataClass])).entries()];
    if (fields.length === 0) return html``;
    return html`<section aria-labelledby="t-${type}"><h2 id="t-${type}">${type}</h2>
<div class="scroll"><table class="matrix">
<caption>${type}: what each recipient gets of each field under ${m.version}</caption>
<thead><tr><th scope="col">Field</th><th scope="col">Data class</th>${m.parties.map((p) => html`<th scope="col">${p}</th>`)}</tr></thead>
<tbody>${fields.map(([field, cls]) => html`<tr><th scope="row">${field}</th><td><code>${cls}</code></td>${m.parties.map((p) => cell(rows.get(`${p}|${type}|${field}`), p, type, field))}</tr>`)}</tbody>
</table></div></section>`;
  });
  return page(
    ctx,
    "Who receives what",
    html`<form class="toolbar" method="get" action="/matrix">
  <label for="version">Policy version</label>
  <select id="version" name="version" data-autosubmit>${versions.map((v) => html`<option value="${v}"${flag("selected", v === m.version)}>${v}</option>`)}</select>
  <button type="submit">Show</button>
  <span data-testid="matrix-version" class="${m.inForce ? "badge badge-ok" : "badge"}">${m.version}${m.inForce ? " · in force" : " · not in force"}</span>
</form>
<p class="lead">${m.scope === "all" ? "Every recipient" : html`What concerns <strong>${m.scope.party}</strong>: what it receives, and what others receive of the events it is the source of`} — over ${m.cases} routing cases (source, marketplace, courier, locker × recipient). Open a cell for the rules that decided it.</p>
<p class="legend"><span class="a a-keep">keep</span> <span class="a a-mask">mask</span> <span class="a a-token">token</span> <span class="a a-coarsen">coarsen</span> <span class="a a-drop">drop</span> <span class="a a-none">${NOT_DELIVERED}</span></p>
${isRegulator && !m.inForce ? html`<form method="post" action="/rollback" class="inline">${csrfField(ctx)}<input type="hidden" name="version" value="${m.version}"><button type="submit" data-confirm="Put ${m.version} back in force for every router?">Put ${m.version} back in force</button></form>` : ""}
${sections}`,
    o.notice ? { notice: o.notice } : {},
  );
}
