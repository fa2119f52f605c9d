/**
 * A decision turned into the work the router does per record: only the fields that change, each with its
 * transform built once. Plans are cached per (schema, routing attributes, recipient, quota state) and policy
 * version, so the policy runs once per distinct key, not once per record.
 */
import { PolicyError, type FieldInfo } from "@parcel-exchange/shared";
import { transformFor, type FieldAction, type FieldTransform, type TransformSettings } from "./transforms/index.js";
import type { Decision } from "./decision.js";

export interface FieldOp {
  readonly field: string;
  /** Position of the field in the writer schema (and in `fields`); ops are in ascending order of it. */
  readonly index: number;
  readonly dataClass: string;
  readonly transform: FieldTransform;
}

export interface RecipientPlan {
  readonly recipient: string;
  readonly deliver: boolean;
  /** Fields whose value changes for this recipient (everything not `keep`). */
  readonly ops: readonly FieldOp[];
  /** `field:action,...` for the px-transformed header. */
  readonly transformedHeader: string;
  /** PII classes released unchanged (`keep`) to this recipient; counted against quotas. */
  readonly releasedPii: readonly string[];
  /** `recipient\u0000class` for each of releasedPii, built once: the key of the batch's release counters. */
  readonly releaseKeys: readonly string[];
  readonly quotaLimits: Readonly<Record<string, number>>;
  /** Equal signatures produce equal bytes for the same event, so the encoding can be shared. */
  readonly signature: string;
  /** Per (class, action): how many fields of that kind one delivery carries; for metrics. */
  readonly actionCounts: readonly { readonly dataClass: string; readonly action: FieldAction; readonly n: number }[];
  readonly rules: readonly string[];
}

export function makePlan(recipient: string, decision: Decision, fields: readonly FieldInfo[], settings: TransformSettings): RecipientPlan {
  const ops: FieldOp[] = [];
  const released = new Set<string>();
  const counts = new Map<string, { dataClass: string; action: FieldAction; n: number }>();
  let tokenised = false;
  if (decision.deliver) {
    for (let index = 0; index < fields.length; index++) {
      const f = fields[index]!;
      const d = decision.fields[f.name] ?? { action: "drop" as const, rule: "router.not_decided" };
      const ck = `${f.dataClass}\u0000${d.action}`;
      const c = counts.get(ck);
      if (c) c.n++;
      else counts.set(ck, { dataClass: f.dataClass, action: d.action, n: 1 });
      if (d.action === "keep") {
        if (f.dataClass.startsWith("pii.")) released.add(f.dataClass);
        continue;
      }
      if (!f.nullable) {
        throw new PolicyError(`policy decided '${d.action}' for required field '${f.name}' (class ${f.dataClass}); only nullable fields can be transformed`);
      }
      if (d.action === "token") tokenised = true;
      ops.push({ field: f.name, index, dataClass: f.dataClass, transform: transformFor(d.action, f.dataClass, recipient, settings) });
    }
  }
  const transformedHeader = ops.map((o) => `${o.field}:${o.transform.action}`).join(",");
  const releasedPii = [...released];
  return {
    recipient,
    deliver: decision.deliver,
    ops,
    transformedHeader,
    releasedPii,
    releaseKeys: releasedPii.map((cls) => `${recipient}\u0000${cls}`),
    quotaLimits: decision.quotaLimits,
    signature: tokenised ? `${recipient}|${transformedHeader}` : transformedHeader,
    actionCounts: [...counts.values()],
    rules: decision.reasons,
  };
}
