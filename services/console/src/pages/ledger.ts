/** The ledger, every entry with the policy service's check of its hash, link and signature. */
import type { CheckedLedgerEntry, LedgerCheck } from "@parcel-exchange/policy-api";
import { html } from "../html.js";
import type { Session } from "../session.js";
import { page, type Notice, type PageContext } from "./layout.js";

/** Whether an entry concerns a party: made by one of its users, or naming the party in its body. */
export function entryConcerns(e: CheckedLedgerEntry, s: Pick<Session, "role" | "party">): boolean {
  if (s.role !== "party" || s.party === undefined) return true;
  if (e.problems.length > 0) return true; // a tampered entry is everyone's business
  const entry = e.entry as { actor?: unknown; body?: unknown };
  return entry.actor === `party:${s.party}` || JSON.stringify(entry.body ?? null).includes(JSON.stringify(s.party));
}

const short = (h: unknown): string => (typeof h === "string" ? (h.length > 16 ? `${h.slice(0, 12)}…` : h) : "?");

function summary(body: unknown): string {
  const text = JSON.stringify(body ?? null);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

export function ledgerPage(ctx: PageContext, check: LedgerCheck, o: { readonly notice?: Notice } = {}): string {
  const s = ctx.session;
  const shown = check.entries.filter((e) => (s ? entryConcerns(e, s) : true)).slice().reverse();
  const r = check.result;
  return page(
    ctx,
    "Ledger",
    html`<div class="${r.ok ? "notice notice-ok" : "notice notice-error"}" role="status" data-testid="ledger-verdict">
<p>${r.ok ? html`The chain verifies: ${r.entries} entries, each hash matching its content, each linked to the one before, each signed by the policy service's key.` : html`The chain does <strong>not</strong> verify: ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"} in ${r.entries} entries.`}</p>
${r.head ? html`<p class="hint">Head: entry ${r.headSeq ?? "?"}, <code>${r.head}</code> — keep it to detect a truncation later (<code>px ledger verify --expected-head</code>).</p>` : ""}
${r.ok ? "" : html`<ul>${r.problems.map((p) => html`<li>${p.message}</li>`)}</ul>`}
</div>
<p>${s?.role === "party" ? `Entries that concern ${s.party}, and any entry that fails its check` : "Every entry"}, newest first (${shown.length} of ${check.entries.length}).</p>
<div class="scroll"><table class="ledger"><caption>Ledger entries with their check</caption>
<thead><tr><th scope="col">Seq</th><th scope="col">Check</th><th scope="col">At</th><th scope="col">Type</th><th scope="col">Actor</th><th scope="col">Body</th><th scope="col">Hash</th><th scope="col">Prev</th></tr></thead>
<tbody>${shown.map((c) => {
      const e = c.entry as unknown as Record<string, unknown>;
      const ok = c.problems.length === 0;
      return html`<tr data-seq="${String(e.seq)}" data-check="${ok ? "ok" : "failed"}" class="${ok ? "" : "tampered"}"><td>${String(e.seq)}</td>
<td>${ok ? html`<span class="badge badge-ok">verified</span>` : html`<span class="badge badge-bad">${c.problems.map((p) => p.kind).join(", ")}</span><ul class="problems">${c.problems.map((p) => html`<li>${p.message}</li>`)}</ul>`}</td>
<td>${String(e.at ?? "")}</td><td>${String(e.type ?? "")}</td><td>${String(e.actor ?? "")}</td><td><code class="body">${summary(e.body)}</code></td><td><code title="${String(e.hash ?? "")}">${short(e.hash)}</code></td><td><code title="${String(e.prev ?? "")}">${short(e.prev)}</code></td></tr>`;
    })}</tbody></table></div>`,
    o.notice ? { notice: o.notice } : {},
  );
}
