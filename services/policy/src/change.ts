/**
 * A policy change: contracts added, replaced or removed, Rego files replaced, parties added or removed.
 * Applied to the source of the version in force, it gives the proposed source.
 */
import type { PartyInfo, PolicyBundle, PolicyData } from "@parcel-exchange/shared";
import type { Contract, PolicyChange } from "./api.js";

export interface PolicySourceTree {
  readonly rego: Readonly<Record<string, string>>;
  readonly data: PolicyData;
}

export const sourceOfBundle = (b: PolicyBundle): PolicySourceTree => ({ rego: b.rego ?? {}, data: b.data });

export function applyChange(src: PolicySourceTree, change: PolicyChange): PolicySourceTree {
  const rego: Record<string, string> = { ...src.rego };
  for (const [path, text] of Object.entries(change.rego ?? {})) {
    if (text === null) delete rego[path];
    else rego[path] = text;
  }
  const contracts: Record<string, unknown> = { ...(src.data.contracts as Record<string, unknown>) };
  for (const [id, c] of Object.entries(change.contracts ?? {})) {
    if (c === null) delete contracts[id];
    else contracts[id] = c;
  }
  const parties: Record<string, PartyInfo> = { ...src.data.parties };
  for (const [id, p] of Object.entries(change.parties ?? {})) {
    if (p === null) delete parties[id];
    else parties[id] = p;
  }
  return { rego, data: { ...src.data, parties, contracts } };
}

/** The parties a change concerns: both sides of every contract it touches (before and after). */
export function contractSides(src: PolicySourceTree, change: PolicyChange): Set<string> {
  const sides = new Set<string>();
  const before = src.data.contracts as Record<string, Contract | undefined>;
  for (const [id, c] of Object.entries(change.contracts ?? {})) {
    for (const p of before[id]?.parties ?? []) sides.add(p);
    for (const p of c?.parties ?? []) sides.add(p);
  }
  return sides;
}

export function touchesOnlyContracts(change: PolicyChange): boolean {
  return Object.keys(change.rego ?? {}).length === 0 && Object.keys(change.parties ?? {}).length === 0;
}

/** Notice period of a contract, in milliseconds (0 when there is no such contract). */
export function noticeMs(src: PolicySourceTree, contractId: string | undefined): number {
  if (!contractId) return 0;
  const c = (src.data.contracts as Record<string, Contract | undefined>)[contractId];
  return Math.round((c?.notice_days ?? 0) * 86_400_000);
}
