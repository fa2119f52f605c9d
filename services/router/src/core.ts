/**
 * The router's work on one batch of raw records, free of Kafka: decode → decide → transform → encode.
 * Decode once per event, decide from the plan cache, encode once per distinct plan signature.
 */
import type { IHeaders } from "kafkajs";
import { HEADERS, PolicyError, RejectedRecordError, sourceOf, type EventType, type FieldInfo, type RejectReason, type SchemaInfo } from "../../shared/src/index.js";
import type { SchemaCatalog } from "./catalog.js";
import { validateDecision, type PolicyInput } from "./policy/decision.js";
import type { DecisionEngine } from "./policy/engine.js";
import { makePlan, type RecipientPlan } from "./policy/plan.js";
import type { TransformSettings } from "./transforms/index.js";

export interface RawRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
}

export interface OutRecord {
  readonly key: Buffer | string | null;
  readonly value: Buffer;
  readonly headers: IHeaders;
}

export interface QuotaView {
  /** Quota state of a recipient as policy input, and a short signature of it for the cache key. */
  stateOf(recipient: string): { readonly sig: string; readonly quota: Readonly<Record<string, "ok" | "over">> };
}

/** The policy in force for a batch: engine, parties and the plan cache of that version. */
export class ActivePolicy {
  readonly plans = new Map<string, RecipientPlan | PolicyError>();
  readonly parties: readonly string[];
  cacheHits = 0;
  cacheMisses = 0;
  totalHits = 0;
  totalLookups = 0;
  evalSeconds: number[] = [];

  constructor(readonly engine: DecisionEngine) {
    this.parties = Object.keys(engine.bundle.data.parties).sort();
  }

  get version(): string {
    return this.engine.version;
  }
}

export interface BatchResult {
  /** Per delivery topic party → records. */
  readonly deliveries: Map<string, OutRecord[]>;
  readonly deadLetters: { record: OutRecord; reason: RejectReason }[];
  /** `recipient\u0000class` → records released with that PII class unchanged. */
  readonly releases: Map<string, { recipient: string; dataClass: string; n: number; limit: number | undefined }>;
  readonly plansUsed: Set<RecipientPlan>;
  consumed: number;
  /** Oldest record timestamp (ms) of the records delivered, for end-to-end latency. */
  readonly timestamps: number[];
}

export interface CoreSettings extends TransformSettings {
  readonly maxRecordBytes: number;
}

const EMPTY_HEADERS: IHeaders = {};

export class RouterCore {
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(
    private readonly catalog: SchemaCatalog,
    private readonly settings: CoreSettings,
  ) {}

  /** Fetches the writer schemas the batch needs; throws (retriably) only when the registry is unreachable. */
  async prepare(records: readonly RawRecord[]): Promise<void> {
    const ids: number[] = [];
    for (const r of records) {
      const v = r.value;
      if (v !== null && v.length >= 5 && v[0] === 0 && this.catalog.get(v.readInt32BE(1)) === undefined) ids.push(v.readInt32BE(1));
    }
    if (ids.length > 0) await this.catalog.prefetch(ids);
  }

  process(policy: ActivePolicy, records: readonly RawRecord[], quota: QuotaView): BatchResult {
    const out: BatchResult = { deliveries: new Map(), deadLetters: [], releases: new Map(), plansUsed: new Set(), consumed: 0, timestamps: [] };
    const plans: RecipientPlan[] = [];
    for (const r of records) {
      out.consumed++;
      try {
        this.route(policy, r, quota, out, plans);
      } catch (err) {
        const rej = err instanceof RejectedRecordError ? err : err instanceof PolicyError ? new RejectedRecordError("policy_error", err.message, { cause: err }) : undefined;
        if (!rej) throw err;
        out.deadLetters.push({ record: deadLetter(r, rej, policy.version), reason: rej.reason });
      }
    }
    return out;
  }

  private route(policy: ActivePolicy, r: RawRecord, quota: QuotaView, out: BatchResult, plans: RecipientPlan[]): void {
    const v = r.value;
    if (v === null || v.length < 5 || v[0] !== 0) throw new RejectedRecordError("undecodable", "value is not in the Confluent wire format (magic byte 0 + schema id)");
    if (v.length > this.settings.maxRecordBytes) throw new RejectedRecordError("oversized", `record of ${v.length} bytes exceeds PX_MAX_RECORD_BYTES=${this.settings.maxRecordBytes}`);
    const schemaId = v.readInt32BE(1);
    const entry = this.catalog.get(schemaId);
    if (entry === undefined) throw new RejectedRecordError("unknown_schema", `schema id ${schemaId} was not loaded`);
    if (!entry.ok) throw new RejectedRecordError(entry.reason, entry.detail);
    const info = entry.info;
    let ev: Record<string, unknown>;
    try {
      const d = info.type.decode(v, 5);
      if (d.offset !== v.length) throw new Error(d.offset < 0 ? "truncated record" : `${v.length - d.offset} trailing bytes`);
      ev = d.value as Record<string, unknown>;
    } catch (err) {
      throw new RejectedRecordError("undecodable", `cannot decode with schema ${schemaId} (${info.eventType}): ${(err as Error).message}`);
    }
    const source = routingAttrs(info.eventType, ev);
    const platform = (ev.platform as string | null | undefined) ?? null;
    const courier = (ev.courier as string | null | undefined) ?? null;
    const locker = (ev.locker as string | null | undefined) ?? null;

    // Decide for every recipient before producing anything: a policy error sends the event to no one.
    plans.length = 0;
    for (const recipient of policy.parties) {
      if (recipient === source) continue;
      const q = quota.stateOf(recipient);
      const key = `${schemaId}|${source}|${platform}|${courier}|${locker}|${recipient}|${q.sig}`;
      let plan = policy.plans.get(key);
      if (plan === undefined) {
        policy.cacheMisses++;
        plan = this.decide(policy, info, { event: { type: info.eventType, source, platform, courier, locker }, recipient, fields: fieldsInput(info), quota: q.quota });
        policy.plans.set(key, plan);
      } else {
        policy.cacheHits++;
      }
      if (plan instanceof PolicyError) throw plan;
      if (plan.deliver) plans.push(plan);
    }
    if (plans.length === 0) return;

    const eventId = ev.eventId as string;
    const key = ev.parcelId as string;
    let lastSig: string | undefined;
    let lastBytes: Buffer | undefined;
    const shared = new Map<string, Buffer>();
    for (const plan of plans) {
      let bytes = plan.signature === lastSig ? lastBytes : shared.get(plan.signature);
      if (bytes === undefined) {
        bytes = this.encode(info, schemaId, ev, plan);
        shared.set(plan.signature, bytes);
      }
      lastSig = plan.signature;
      lastBytes = bytes;
      let list = out.deliveries.get(plan.recipient);
      if (list === undefined) out.deliveries.set(plan.recipient, (list = []));
      list.push({
        key,
        value: bytes,
        // Few headers on purpose: each costs an encoder allocation per record in the Kafka client. The event
        // type and source are in the record itself; an absent px-transformed means nothing was transformed.
        headers:
          plan.transformedHeader === ""
            ? { [HEADERS.policyVersion]: policy.version, [HEADERS.sourceEventId]: eventId }
            : { [HEADERS.policyVersion]: policy.version, [HEADERS.sourceEventId]: eventId, [HEADERS.transformed]: plan.transformedHeader },
      });
      plan.delivered++;
      out.plansUsed.add(plan);
      for (const cls of plan.releasedPii) {
        const rk = `${plan.recipient}\u0000${cls}`;
        const rel = out.releases.get(rk);
        if (rel) rel.n++;
        else out.releases.set(rk, { recipient: plan.recipient, dataClass: cls, n: 1, limit: plan.quotaLimits[cls] });
      }
    }
    out.timestamps.push(Number(r.timestamp));
  }

  private decide(policy: ActivePolicy, info: SchemaInfo, input: PolicyInput): RecipientPlan | PolicyError {
    try {
      const { result, seconds } = policy.engine.evaluate(input);
      policy.evalSeconds.push(seconds);
      return makePlan(input.recipient, validateDecision(result, info.fields), info.fields, this.settings);
    } catch (err) {
      if (err instanceof PolicyError) return err;
      return new PolicyError(`policy decision could not be used (${(err as Error).message})`, { cause: err });
    }
  }

  /** Applies the plan's transforms in place, encodes, and restores the original values. */
  private encode(info: SchemaInfo, schemaId: number, ev: Record<string, unknown>, plan: RecipientPlan): Buffer {
    const ops = plan.ops;
    const saved: unknown[] = new Array<unknown>(ops.length);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      saved[i] = ev[op.field];
      if (saved[i] !== null) ev[op.field] = op.transform.apply(saved[i]);
    }
    try {
      let pos = info.type.encode(ev, this.scratch, 5);
      if (pos < 0) {
        this.scratch = Buffer.allocUnsafe(this.scratch.length - pos + 1024);
        pos = info.type.encode(ev, this.scratch, 5);
      }
      this.scratch[0] = 0;
      this.scratch.writeInt32BE(schemaId, 1);
      return Buffer.from(this.scratch.subarray(0, pos));
    } finally {
      for (let i = 0; i < ops.length; i++) ev[ops[i]!.field] = saved[i];
    }
  }
}

const fieldsCache = new WeakMap<SchemaInfo, PolicyInput["fields"]>();
function fieldsInput(info: SchemaInfo): PolicyInput["fields"] {
  let f = fieldsCache.get(info);
  if (f === undefined) fieldsCache.set(info, (f = info.fields.map((x: FieldInfo) => ({ name: x.name, class: x.dataClass }))));
  return f;
}

const nonEmpty = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** Checks the attributes routing depends on; returns the publishing party. */
function routingAttrs(type: EventType, ev: Record<string, unknown>): string {
  const missing: string[] = [];
  if (!nonEmpty(ev.eventId)) missing.push("eventId");
  if (!nonEmpty(ev.parcelId)) missing.push("parcelId");
  if (!nonEmpty(ev.courier)) missing.push("courier");
  if (!nonEmpty(ev.platform)) missing.push("platform");
  if (type === "LockerEvent" && !nonEmpty(ev.locker)) missing.push("locker");
  const source = sourceOf(type, ev);
  if (missing.length > 0 || !nonEmpty(source)) {
    throw new RejectedRecordError("missing_routing_attribute", `${type} lacks routing attribute(s): ${missing.join(", ") || "source"}`);
  }
  return source;
}

function deadLetter(r: RawRecord, err: RejectedRecordError, policyVersion: string): OutRecord {
  return {
    key: r.key,
    value: r.value ?? Buffer.alloc(0),
    headers: {
      ...(r.headers ?? EMPTY_HEADERS),
      [HEADERS.rejectReason]: err.reason,
      [HEADERS.rejectDetail]: err.message.slice(0, 1000),
      [HEADERS.origin]: `${r.topic}/${r.partition}/${r.offset}`,
      [HEADERS.policyVersion]: policyVersion,
    },
  };
}
