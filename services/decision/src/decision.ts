/**
 * What the router asks the policy and how it checks the answer. A decision that is not exactly of this shape
 * is a policy error: the router fails closed.
 */
import { PolicyError, type EventType, type FieldInfo } from "@parcel-exchange/shared";
import { FIELD_ACTIONS, type FieldAction } from "./transforms/index.js";

export interface PolicyInput {
  readonly event: { readonly type: EventType; readonly source: string; readonly platform: string | null; readonly courier: string | null; readonly locker: string | null };
  readonly recipient: string;
  readonly fields: readonly { readonly name: string; readonly class: string }[];
  readonly quota: Readonly<Record<string, "ok" | "over">>;
}

export interface FieldDecision {
  readonly action: FieldAction;
  readonly rule: string;
}

export interface Decision {
  readonly deliver: boolean;
  readonly fields: Readonly<Record<string, FieldDecision>>;
  readonly quotaLimits: Readonly<Record<string, number>>;
  readonly reasons: readonly string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks a raw policy result against the fields of the event; throws PolicyError when malformed. */
export function validateDecision(raw: unknown, fields: readonly FieldInfo[]): Decision {
  if (!isObj(raw)) throw new PolicyError("policy returned no decision object");
  if (typeof raw.deliver !== "boolean") throw new PolicyError("policy decision has no boolean 'deliver'");
  if (!isObj(raw.fields)) throw new PolicyError("policy decision has no 'fields' object");
  const out: Record<string, FieldDecision> = {};
  for (const f of fields) {
    const d = raw.fields[f.name];
    if (d === undefined) {
      // Not mentioned: not allowed.
      out[f.name] = { action: "drop", rule: "router.not_decided" };
      continue;
    }
    if (!isObj(d) || typeof d.action !== "string" || !(FIELD_ACTIONS as readonly string[]).includes(d.action)) {
      throw new PolicyError(`policy decision for field '${f.name}' has no valid action (got ${JSON.stringify(d)})`);
    }
    out[f.name] = { action: d.action as FieldAction, rule: typeof d.rule === "string" ? d.rule : "unnamed" };
  }
  const quotaLimits: Record<string, number> = {};
  if (raw.quota_limits !== undefined) {
    if (!isObj(raw.quota_limits)) throw new PolicyError("policy decision 'quota_limits' is not an object");
    for (const [cls, n] of Object.entries(raw.quota_limits)) {
      if (typeof n !== "number" || !(n >= 0)) throw new PolicyError(`policy decision quota limit for '${cls}' is not a non-negative number`);
      quotaLimits[cls] = n;
    }
  }
  const reasons = Array.isArray(raw.reasons) ? raw.reasons.filter((r): r is string => typeof r === "string") : [];
  return { deliver: raw.deliver, fields: out, quotaLimits, reasons };
}
