/** The policy history: publications and rollbacks, read from the ledger. */
import type { LedgerEntry } from "@parcel-exchange/ledger";
import type { HistoryItem } from "./api.js";

export function historyOf(entries: readonly LedgerEntry[]): HistoryItem[] {
  const out: HistoryItem[] = [];
  for (const e of entries) {
    const body = e.body as Record<string, unknown>;
    if (e.type === "policy.published") out.push({ version: String(body.version), kind: "published", at: e.at, by: e.actor, previous: (body.previous as string | null) ?? null, summary: body });
    if (e.type === "policy.rolled_back") out.push({ version: String(body.to), kind: "rolled_back", at: e.at, by: e.actor, previous: String(body.from), summary: body });
  }
  return out;
}
