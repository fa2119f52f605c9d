/** The proposals: a list, and one proposal with its exact impact, dry run, notice period, approvals and actions. */
import type { FieldChange, Proposal } from "@parcel-exchange/policy-api";
import { html, type Html } from "../html.js";
import type { Session } from "../session.js";
import { csrfField, page, type Notice, type PageContext } from "./layout.js";

/** What the signed-in user is offered on a proposal. The policy service decides; this only hides what it would refuse. */
export interface ProposalActions {
  readonly approve: boolean;
  readonly approveImmediately: boolean;
  readonly apply: boolean;
  readonly reject: boolean;
}

export function proposalActions(s: Pick<Session, "id" | "role" | "party">, p: Proposal): ProposalActions {
  const open = p.status === "proposed" || p.status === "scheduled";
  const regulator = s.role === "regulator";
  const side = s.role === "party" && s.party !== undefined && p.requiredSides.includes(s.party);
  const approvedByMe = p.approvals.some((a) => a.by === s.id);
  return {
    approve: p.status === "proposed" && !approvedByMe && (regulator || side),
    approveImmediately: regulator && p.status === "proposed",
    apply: regulator && p.status === "scheduled",
    reject: open && (regulator || side),
  };
}

const when = (iso: string | undefined): Html => (iso ? html`<time datetime="${iso}">${iso.replace("T", " ").replace(/\.\d+Z$/, " UTC")}</time>` : html`—`);
const status = (p: Proposal): Html => html`<span class="badge status-${p.status}" data-testid="status">${p.status}</span>`;

export function proposalsPage(ctx: PageContext, list: readonly Proposal[], o: { readonly notice?: Notice } = {}): string {
  const sorted = [...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return page(
    ctx,
    "Proposals",
    sorted.length === 0
      ? html`<p>No proposals${ctx.session?.role === "party" ? " concern your party" : ""}.</p>`
      : html`<div class="scroll"><table><caption>Proposed changes, newest first</caption>
<thead><tr><th scope="col">Proposal</th><th scope="col">Status</th><th scope="col">By</th><th scope="col">Sides</th><th scope="col">Approvals</th><th scope="col">Created</th><th scope="col">Takes effect</th></tr></thead>
<tbody>${sorted.map(
          (p) => html`<tr data-proposal="${p.id}"><th scope="row"><a href="/proposals/${encodeURIComponent(p.id)}">${p.description}</a><br><small><code>${p.id}</code></small></th><td>${status(p)}</td><td>${p.author}</td><td>${p.requiredSides.join(", ") || "regulator"}</td><td>${p.approvals.length}</td><td>${when(p.createdAt)}</td><td>${when(p.effectiveAt ?? p.publishedAt)}</td></tr>`,
        )}</tbody></table></div>`,
    o.notice ? { notice: o.notice } : {},
  );
}

function changes(title: string, id: string, list: readonly FieldChange[]): Html {
  if (list.length === 0) return html`<h3 id="${id}">${title}</h3><p>None.</p>`;
  return html`<h3 id="${id}">${title}</h3><div class="scroll"><table aria-labelledby="${id}"><thead><tr><th scope="col">Recipient</th><th scope="col">Event type</th><th scope="col">Field</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Cases</th><th scope="col">Contracts</th></tr></thead>
<tbody>${list.map((c) => html`<tr><td>${c.party}</td><td>${c.eventType}</td><td>${c.field}</td><td><span class="a a-${c.from.replace(/[^a-z]/g, "")}">${c.from}</span></td><td><span class="a a-${c.to.replace(/[^a-z]/g, "")}">${c.to}</span></td><td>${c.cases}</td><td>${c.contracts.join(", ") || "—"}</td></tr>`)}</tbody></table></div>`;
}

/** The notice period the change's contracts ask for, in days (the largest). */
function noticeDays(p: Proposal): number | undefined {
  const days = Object.values(p.change.contracts ?? {}).map((c) => c?.notice_days).filter((d): d is number => typeof d === "number");
  return days.length ? Math.max(...days) : undefined;
}

export function proposalPage(ctx: PageContext, p: Proposal, o: { readonly notice?: Notice } = {}): string {
  const can = ctx.session ? proposalActions(ctx.session, p) : { approve: false, approveImmediately: false, apply: false, reject: false };
  const form = (action: string, label: string, extra: Html = html``, confirm?: string) =>
    html`<form method="post" action="/proposals/${encodeURIComponent(p.id)}/${action}" class="inline">${csrfField(ctx)}${extra}<button type="submit" data-action="${action}"${confirm ? html` data-confirm="${confirm}"` : ""}>${label}</button></form>`;
  const days = noticeDays(p);
  const actions = [
    can.approve ? form("approve", "Approve") : "",
    can.approveImmediately ? form("approve", "Approve with immediate effect", html`<input type="hidden" name="immediate" value="true">`, "Put this change into effect now, without the notice period?") : "",
    can.apply ? form("apply", "Apply now", html``, "Put this change into effect now, before its notice period ends?") : "",
    can.reject
      ? html`<form method="post" action="/proposals/${encodeURIComponent(p.id)}/reject" class="reject">${csrfField(ctx)}<label for="reason">Reason for rejecting</label><input id="reason" name="reason" required maxlength="500"><button type="submit" data-action="reject">Reject</button></form>`
      : "",
  ];
  const dr = p.dryRun;
  return page(
    ctx,
    p.description,
    html`<dl class="facts">
<dt>Proposal</dt><dd><code>${p.id}</code></dd>
<dt>Status</dt><dd>${status(p)}</dd>
<dt>Proposed by</dt><dd>${p.author}, ${when(p.createdAt)}</dd>
<dt>Versions</dt><dd>${p.baseVersion} → ${p.proposedVersion}${p.publishedVersion ? html` (published as <a href="/matrix?version=${encodeURIComponent(p.publishedVersion)}">${p.publishedVersion}</a>)` : ""}</dd>
<dt>Sides that must approve</dt><dd>${p.requiredSides.join(", ") || "a regulator"}</dd>
<dt>Notice period</dt><dd>${days === undefined ? "none named" : `${days} day${days === 1 ? "" : "s"} when it reduces what a party receives`}${p.effectiveAt ? html`; takes effect ${when(p.effectiveAt)}` : ""}</dd>
${p.rejection ? html`<dt>Rejected</dt><dd>by ${p.rejection.by}, ${when(p.rejection.at)}: ${p.rejection.reason}</dd>` : ""}
</dl>
<section aria-labelledby="approvals"><h2 id="approvals">Approvals</h2>
${p.approvals.length === 0 ? html`<p>None yet.</p>` : html`<ul>${p.approvals.map((a) => html`<li>${a.by} (${a.role}${a.party ? ` of ${a.party}` : ""}), ${when(a.at)}${a.immediate ? " — with immediate effect" : ""}</li>`)}</ul>`}
${actions.some((a) => a !== "") ? html`<div class="actions" data-testid="actions">${actions}</div>` : html`<p class="hint" data-testid="no-actions">${ctx.session?.role === "viewer" ? "Viewers read only." : "There is nothing you may do on this proposal."}</p>`}
</section>
<section aria-labelledby="impact"><h2 id="impact">Exact impact</h2>
<p>Compared over ${p.impact.casesCompared} routing cases under ${p.baseVersion} and ${p.proposedVersion}.</p>
${changes("What recipients lose", "reductions", p.impact.reductions)}
${changes("What recipients gain", "expansions", p.impact.expansions)}
${changes("Other changes", "other", p.impact.otherChanges)}
</section>
<section aria-labelledby="dryrun" data-testid="dry-run"><h2 id="dryrun">Dry run on recent traffic</h2>
<p>${dr.sampled} recent events replayed through both versions${Object.keys(dr.byType).length ? html` (${Object.entries(dr.byType).map(([t, n], i) => html`${i > 0 ? ", " : ""}${n} ${t}`)})` : ""}.</p>
${dr.lines.length === 0 ? html`<p>No delivered field would change.</p>` : html`<ul class="dry">${dr.lines.map((l) => html`<li>${l.text}</li>`)}</ul>`}
</section>`,
    o.notice ? { notice: o.notice } : {},
  );
}
