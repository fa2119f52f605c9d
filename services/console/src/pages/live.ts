/** The live flow page: the figures of live.ts, refreshed by the page's script every few seconds. */
import { html, type Html } from "../html.js";
import type { LiveFlow } from "../live.js";
import { page, type Notice, type PageContext } from "./layout.js";

const rate = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const pct = (n: number): string => `${(n * 100).toFixed(1)} %`;

function table(caption: string, head: readonly string[], rows: readonly Html[], empty: string): Html {
  if (rows.length === 0) return html`<p>${empty}</p>`;
  return html`<div class="scroll"><table><caption>${caption}</caption><thead><tr>${head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

export function liveSection(f: LiveFlow): Html {
  return html`<div id="live-data" data-testid="live-data">
<section aria-labelledby="l-del"><h2 id="l-del">Deliveries</h2>
${table("Events delivered per second, by recipient (last minute)", ["Recipient", "Events/s"], f.delivered.map((d) => html`<tr data-party="${d.party}"><th scope="row">${d.party}</th><td>${rate(d.perSec)}</td></tr>`), "No deliveries recorded yet.")}
${table("Fields delivered per second, by action", ["Recipient", "Action", "Fields/s"], f.fieldActions.map((d) => html`<tr><th scope="row">${d.party}</th><td><span class="a a-${d.action.replace(/[^a-z]/g, "")}">${d.action}</span></td><td>${rate(d.perSec)}</td></tr>`), "No field actions recorded yet.")}
</section>
${f.deadLetters ? html`<section aria-labelledby="l-dl"><h2 id="l-dl">Dead letters</h2>${table("Records dead-lettered, by reason", ["Reason", "Per second (5 min)", "Since the routers started"], f.deadLetters.map((d) => html`<tr data-reason="${d.reason}"><th scope="row">${d.reason}</th><td>${rate(d.perSec)}</td><td>${d.total}</td></tr>`), "No dead letters.")}</section>` : ""}
<section aria-labelledby="l-q"><h2 id="l-q">Quotas</h2>
${table("Share of today's personal-data quota used", ["Recipient", "Data class", "Used", "Limit"], f.quota.map((q) => html`<tr class="${q.usage >= 0.9 ? "warn" : ""}"><th scope="row">${q.party}</th><td><code>${q.class}</code></td><td><meter min="0" max="1" low="0.8" high="0.9" optimum="0" value="${Math.min(1, q.usage)}">${pct(q.usage)}</meter> ${pct(q.usage)}</td><td>${q.limit ?? "—"}</td></tr>`), "No quota-governed fields delivered yet.")}
</section>
<section aria-labelledby="l-v"><h2 id="l-v">Policy version applied</h2>
<p>The policy service's newest release: ${f.releaseSequence === undefined ? "not scraped" : html`sequence <strong>${f.releaseSequence}</strong>`}.</p>
${table("The version each router applies", ["Router", "Version", "Release sequence", "Routing", "Up to date"], f.routers.map((r) => html`<tr data-router="${r.instance}" class="${r.behind ? "warn" : ""}"><th scope="row">${r.instance}</th><td>${r.version}</td><td>${r.sequence ?? "—"}</td><td>${r.routing === undefined ? "—" : r.routing ? "yes" : "no"}</td><td>${r.behind ? "behind" : "yes"}</td></tr>`), "No router scraped yet.")}
</section>
</div>`;
}

export function livePage(ctx: PageContext, f: LiveFlow | undefined, o: { readonly notice?: Notice; readonly prometheusUrl?: string } = {}): string {
  const body = f
    ? html`<p class="lead">From Prometheus${o.prometheusUrl ? html` at <code>${o.prometheusUrl}</code>` : ""}; ${ctx.session?.role === "party" ? `${ctx.session.party}'s figures only; ` : ""}refreshed every 5 seconds.</p><div data-refresh="/live/data" data-every="5000">${liveSection(f)}</div>`
    : html`<p>The live flow comes from Prometheus. Start the local stack with <code>npm run stack -- up --monitoring</code> (or point <code>PX_PROMETHEUS_URL</code> at your Prometheus) and restart the console.</p>`;
  return page(ctx, "Live flow", body, o.notice ? { notice: o.notice } : {});
}
