/**
 * A policy change: contracts added, replaced or removed, Rego files replaced, parties added or removed.
 * Applied to the source of the version in force, it gives the proposed source.
 */
import { ValidationError, type PartyInfo, type PolicyBundle, type PolicyData } from "../../shared/src/index.js";

export interface Contract {
  readonly id: string;
  readonly parties: readonly string[];
  readonly notice_days?: number;
  readonly grants: readonly unknown[];
}

export interface PolicyChange {
  readonly contracts?: Readonly<Record<string, Contract | null>>;
  readonly rego?: Readonly<Record<string, string | null>>;
  readonly parties?: Readonly<Record<string, PartyInfo | null>>;
}

export interface PolicySourceTree {
  readonly rego: Readonly<Record<string, string>>;
  readonly data: PolicyData;
}

export const sourceOfBundle = (b: PolicyBundle): PolicySourceTree => ({ rego: b.rego ?? {}, data: b.data });

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks the shape of a change as it arrives over the API; lists every problem. */
export function parseChange(raw: unknown): PolicyChange {
  const problems: string[] = [];
  if (!isObj(raw)) throw new ValidationError("PolicyChange", ["the change must be a JSON object with contracts, rego and/or parties"]);
  for (const k of Object.keys(raw)) if (!["contracts", "rego", "parties"].includes(k)) problems.push(`unknown key '${k}'`);
  if (raw.contracts !== undefined) {
    if (!isObj(raw.contracts)) problems.push("contracts must be an object of id → contract (or null to remove)");
    else
      for (const [id, c] of Object.entries(raw.contracts)) {
        if (c === null) continue;
        if (!isObj(c)) problems.push(`contracts.${id} must be an object or null`);
        else {
          if (c.id !== id) problems.push(`contracts.${id}.id must be '${id}'`);
          if (!Array.isArray(c.parties) || c.parties.length !== 2 || !c.parties.every((p) => typeof p === "string")) problems.push(`contracts.${id}.parties must name the two parties`);
          if (!Array.isArray(c.grants)) problems.push(`contracts.${id}.grants must be an array`);
          if (c.notice_days !== undefined && (typeof c.notice_days !== "number" || c.notice_days < 0)) problems.push(`contracts.${id}.notice_days must be a non-negative number`);
        }
      }
  }
  if (raw.rego !== undefined) {
    if (!isObj(raw.rego)) problems.push("rego must be an object of path → Rego text (or null to remove)");
    else
      for (const [path, text] of Object.entries(raw.rego)) {
        if (!/^router\/[A-Za-z0-9_.-]+\.rego$/.test(path)) problems.push(`rego path '${path}' must be router/<name>.rego`);
        if (text !== null && typeof text !== "string") problems.push(`rego.${path} must be text or null`);
      }
  }
  if (raw.parties !== undefined) {
    if (!isObj(raw.parties)) problems.push("parties must be an object of id → party (or null to remove)");
    else
      for (const [id, p] of Object.entries(raw.parties)) {
        if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) problems.push(`party id '${id}' must be lower-case letters, digits and '-'`);
        if (p !== null && (!isObj(p) || !["marketplace", "courier", "locker"].includes(String(p.kind)))) problems.push(`parties.${id}.kind must be marketplace, courier or locker`);
      }
  }
  if (problems.length > 0) throw new ValidationError("PolicyChange", problems);
  return raw as PolicyChange;
}

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
