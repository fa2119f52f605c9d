/** Plain-text rendering of the policy service's answers: tables, impact, dry run, proposals, history, webhook endpoints. */
import type { DryRunReport, EvaluateResponse, FieldChange, HistoryItem, Impact, Proposal, ProposalImpact, TestSummary, WebhookEndpoint, WebhookSecretResponse } from "@parcel-exchange/policy-api";

export const n = (x: number): string => x.toLocaleString("en-US");

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A table with a header row; columns as wide as their widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], indent = "  "): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)];
}

function changeRows(list: readonly FieldChange[]): string[][] {
  return list.map((c) => [c.party, c.eventType, c.field === "(delivery)" ? "(whole event)" : c.field, `${c.from} → ${c.to}`, n(c.cases), c.contracts.join(", ") || "-"]);
}

function section(title: string, list: readonly FieldChange[]): string[] {
  if (list.length === 0) return [`${title}: none`];
  return [`${title} (${list.length}):`, ...table(["PARTY", "EVENT", "FIELD", "CHANGE", "CASES", "CONTRACTS"], changeRows(list))];
}

export function renderImpact(impact: ProposalImpact & { floorViolations?: Impact["floorViolations"] }): string[] {
  const out = [
    ...section("Reductions — what a party would stop receiving", impact.reductions),
    "",
    ...section("Expansions — what a party would start receiving", impact.expansions),
    "",
    ...section("Other changes", impact.otherChanges),
  ];
  if (impact.floorViolations !== undefined) {
    out.push("");
    if (impact.floorViolations.length === 0) out.push("Floor violations: none");
    else out.push(`Floor violations (${impact.floorViolations.length}) — the service will reject this change:`, ...impact.floorViolations.map((v) => `  ${v}`));
  }
  return out;
}

export function renderTests(t: TestSummary): string {
  return `tests: ${n(t.passed)} passed, ${n(t.failed)} failed, coverage ${t.coverage.toFixed(1)}%`;
}

export function renderDryRun(d: DryRunReport, limit = Infinity): string[] {
  const types = Object.entries(d.byType).filter(([, c]) => c > 0).map(([t, c]) => `${t} ${n(c)}`).join(", ");
  const head = `Dry run on ${n(d.sampled)} recent events${types ? ` (${types})` : ""}:`;
  if (d.sampled === 0) return [`Dry run: no recent events to replay`];
  if (d.lines.length === 0) return [head, "  no recipient would receive anything different"];
  const shown = d.lines.slice(0, limit).map((l) => `  ${l.text}`);
  if (d.lines.length > shown.length) shown.push(`  … and ${d.lines.length - shown.length} more`);
  return [head, ...shown];
}

export function renderDiff(ev: EvaluateResponse): string[] {
  return [`Proposed version ${ev.proposedVersion}: ${n(ev.impact.casesCompared)} cases compared exactly`, "", ...renderImpact(ev.impact)];
}

function approvalsText(p: Proposal): string {
  return p.approvals.map((a) => `${a.by}${a.immediate ? " (immediate)" : ""}`).join(", ") || "none";
}

function statusText(p: Proposal): string {
  if (p.status === "scheduled") return `scheduled (takes effect ${p.effectiveAt ?? "?"})`;
  if (p.status === "published") return `published as ${p.publishedVersion ?? "?"}${p.publishedAt ? ` at ${p.publishedAt}` : ""}`;
  if (p.status === "rejected" && p.rejection) return `rejected by ${p.rejection.by} at ${p.rejection.at}: ${p.rejection.reason}`;
  return p.status;
}

/** The head of a proposal: id, status, versions, approvals. */
export function renderProposalHead(p: Proposal): string[] {
  return [
    `proposal ${p.id}: ${statusText(p)}`,
    `  description: ${p.description}`,
    `  author:      ${p.author} at ${p.createdAt}`,
    `  versions:    ${p.baseVersion} → ${p.proposedVersion}`,
    `  needs:       ${p.requiredSides.length > 0 ? p.requiredSides.join(", ") : "a regulator"} (or a regulator)`,
    `  approvals:   ${approvalsText(p)}`,
  ];
}

export function renderProposalSummary(p: Proposal): string[] {
  return [...renderProposalHead(p), "", ...section("Reductions", p.impact.reductions), `Expansions: ${p.impact.expansions.length}, other changes: ${p.impact.otherChanges.length}`, "", ...renderDryRun(p.dryRun, 10)];
}

function changeText(p: Proposal): string[] {
  const out: string[] = [];
  for (const [id, c] of Object.entries(p.change.contracts ?? {})) out.push(`  contract ${id}: ${c === null ? "removed" : "set"}`);
  for (const [path, t] of Object.entries(p.change.rego ?? {})) out.push(`  rego ${path}: ${t === null ? "removed" : `set (${t.split("\n").length} lines)`}`);
  for (const [id, x] of Object.entries(p.change.parties ?? {})) out.push(`  party ${id}: ${x === null ? "removed" : `set (${x.kind})`}`);
  return out.length > 0 ? out : ["  (empty)"];
}

export function renderProposalFull(p: Proposal): string[] {
  return [...renderProposalHead(p), "", "Change:", ...changeText(p), "", ...renderImpact(p.impact), "", ...renderDryRun(p.dryRun)];
}

export function renderProposalList(list: readonly Proposal[]): string[] {
  if (list.length === 0) return ["no proposals"];
  return table(
    ["ID", "STATUS", "AUTHOR", "CREATED", "VERSIONS", "REDUCTIONS", "DESCRIPTION"],
    list.map((p) => [p.id, p.status, p.author, p.createdAt, `${p.baseVersion}→${p.publishedVersion ?? p.proposedVersion}`, String(p.impact.reductions.length), clip(p.description, 60)]),
    "",
  );
}

export function historySummary(h: HistoryItem): string {
  const s = h.summary;
  if (h.kind === "rolled_back") return `rolled back from ${h.previous ?? "?"}`;
  if (s.initial === true) return "initial policy (repository policies/)";
  const parts: string[] = [];
  if (typeof s.description === "string") parts.push(s.description);
  if (typeof s.proposal === "string") parts.push(`[${s.proposal}]`);
  if (typeof s.reductions === "number" || typeof s.expansions === "number") parts.push(`−${String(s.reductions ?? 0)}/+${String(s.expansions ?? 0)}`);
  return parts.join(" ") || "-";
}

export function renderHistory(items: readonly HistoryItem[]): string[] {
  if (items.length === 0) return ["no history"];
  return table(["VERSION", "KIND", "AT", "BY", "SUMMARY"], items.map((h) => [h.version, h.kind, h.at, h.by, clip(historySummary(h), 80)]), "");
}

// ------------------------------------------------------------------------------------------- webhooks

export function renderWebhookList(list: readonly WebhookEndpoint[]): string[] {
  if (list.length === 0) return ["no webhook endpoints"];
  return table(
    ["ID", "PARTY", "STATUS", "FORMAT", "EVENTS", "SECRETS", "URL"],
    list.map((e) => [e.id, e.party, e.status, e.format, e.eventTypes.join(","), e.secretIds.join(",") || "-", clip(e.url, 80)]),
    "",
  );
}

/** One endpoint: id, owner, status, what it receives. */
export function renderWebhook(e: WebhookEndpoint): string[] {
  return [
    `webhook endpoint ${e.id}: ${e.status}${e.status === "disabled" && e.disabledReason ? ` (${e.disabledReason})` : ""}`,
    `  party:   ${e.party}`,
    `  url:     ${e.url}`,
    `  events:  ${e.eventTypes.join(", ")} as ${e.format}`,
    `  secrets: ${e.secretIds.join(", ") || "-"} (fingerprints, newest first)`,
  ];
}

/** An endpoint with its new secret, which the service shows only this once. */
export function renderWebhookSecret(r: WebhookSecretResponse, rotated: boolean): string[] {
  return [
    ...renderWebhook(r.endpoint),
    "",
    `secret: ${r.secret}`,
    "Store this secret now: it will not be shown again.",
    ...(rotated ? ["The previous secret keeps signing beside it for 24 h."] : []),
  ];
}
