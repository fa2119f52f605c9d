/**
 * The router's work on one batch of raw records, free of Kafka: check → decode → decide → transform → encode.
 * Decode once per event, decide from the plan cache, encode once per distinct plan signature.
 *
 * Authenticity: each record must come from an ingress topic (`<prefix>.raw.<party>.<type>`), which only that
 * party may write, carry an event of the topic's type, and name the topic's party as its source; anything else
 * is dead-lettered (unknown_topic, type_mismatch, spoofed_source) and delivered to no one.
 */
import { createHash } from "node:crypto";
import avro from "avsc";
import { HEADERS, PolicyError, RejectedRecordError, SOURCE_FIELD, sourceOf, topics, type EventType, type FieldInfo, type Ingress, type RejectReason, type SchemaInfo, type Topics } from "@parcel-exchange/shared";
import type { OutRecord, RawRecord, RecordHeaders } from "./records.js";
import { makePlan, validateDecision, type DecisionEngine, type PolicyInput, type RecipientPlan, type SchemaCatalog, type TransformSettings } from "@parcel-exchange/decision";

export interface QuotaView {
  /** Quota state of a recipient as policy input, and a short signature of it for the cache key. */
  stateOf(recipient: string): { readonly sig: string; readonly quota: Readonly<Record<string, "ok" | "over">> };
}

/** A cached decision for one recipient, with the quota state it was made under. */
interface Slot {
  readonly sig: string;
  readonly plan: RecipientPlan | PolicyError;
}

export interface ActivePolicyOptions {
  /**
   * Whether decisions are cached (the default). Off runs the policy for every (record, recipient): for
   * measuring what the cache saves, never in service.
   */
  readonly cacheDecisions?: boolean;
}

/** The policy in force for a batch: engine, parties and the plan cache of that version. */
export class ActivePolicy {
  readonly plans = new Map<string, RecipientPlan | PolicyError>();
  readonly parties: readonly string[];
  readonly cacheDecisions: boolean;
  cacheHits = 0;
  cacheMisses = 0;
  totalHits = 0;
  totalLookups = 0;
  evalSeconds: number[] = [];
  /**
   * The fast path in front of `plans`: schema id → platform → courier → locker → one slot per party (in the
   * order of `parties`). Finding an event's decisions costs a few map lookups on the attribute strings, no
   * key string per recipient.
   */
  private readonly routes = new Map<number, Map<string, Map<string, Map<string | null, (Slot | undefined)[]>>>>();

  constructor(
    readonly engine: DecisionEngine,
    options: ActivePolicyOptions = {},
  ) {
    this.parties = Object.keys(engine.bundle.data.parties).sort();
    this.cacheDecisions = options.cacheDecisions ?? true;
  }

  get version(): string {
    return this.engine.version;
  }

  /** The per-party slots of one combination of routing attributes (created empty on first use). */
  slotsFor(schemaId: number, platform: string, courier: string, locker: string | null): (Slot | undefined)[] {
    let byPlatform = this.routes.get(schemaId);
    if (byPlatform === undefined) this.routes.set(schemaId, (byPlatform = new Map()));
    let byCourier = byPlatform.get(platform);
    if (byCourier === undefined) byPlatform.set(platform, (byCourier = new Map()));
    let byLocker = byCourier.get(courier);
    if (byLocker === undefined) byCourier.set(courier, (byLocker = new Map()));
    let slots = byLocker.get(locker);
    if (slots === undefined) byLocker.set(locker, (slots = new Array<Slot | undefined>(this.parties.length).fill(undefined)));
    return slots;
  }
}

export interface BatchResult {
  /** Per delivery topic party → records. */
  readonly deliveries: Map<string, OutRecord[]>;
  readonly deadLetters: { record: OutRecord; reason: RejectReason }[];
  /** `recipient\u0000class` → records released with that PII class unchanged. */
  readonly releases: Map<string, { recipient: string; dataClass: string; n: number; limit: number | undefined }>;
  /**
   * Records delivered per plan in this batch. Counts belong to the batch's result and are reported only after
   * its transaction commits; a batch that is aborted and retried is counted once, by the attempt that commits.
   */
  readonly planCounts: Map<RecipientPlan, number>;
  consumed: number;
  /** Oldest record timestamp (ms) of the records delivered, for end-to-end latency. */
  readonly timestamps: number[];
}

export interface CoreSettings extends TransformSettings {
  readonly maxRecordBytes: number;
  /**
   * Largest dead-letter record (key + value + headers); a bigger copy keeps a bounded prefix of the value and a
   * reference to the original, so that a dead letter always fits the broker's limit. Default 1,000,000.
   */
  readonly maxDeadLetterBytes?: number;
  /** The deployment's topic prefix: records are accepted only from its ingress topics. */
  readonly topicPrefix: string;
}

const EMPTY_HEADERS: RecordHeaders = {};
const SLAB_BYTES = 256 * 1024;

// Delivery headers are built with literal keys: V8 then makes each object from one fixed template, where
// computed keys cost a dictionary-style store per key. The tuple below fails to compile if HEADERS changes.
const DELIVERY_HEADER_NAMES: readonly ["px-policy-version", "px-source-event-id", "px-transformed"] = [HEADERS.policyVersion, HEADERS.sourceEventId, HEADERS.transformed];
void DELIVERY_HEADER_NAMES;
const plainHeaders = (version: string, eventId: string): RecordHeaders => ({ "px-policy-version": version, "px-source-event-id": eventId });
const transformedHeaders = (version: string, eventId: string, transformed: string): RecordHeaders => ({ "px-policy-version": version, "px-source-event-id": eventId, "px-transformed": transformed });

export class RouterCore {
  /**
   * Output records are written one after the other into this slab and handed out as views of it; a full slab
   * is left to the records that use it (it is freed with the last of them) and a new one started.
   */
  private slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private slabPos = 0;
  /** Field values of the event being routed, in schema order. */
  private readonly vals: unknown[] = [];
  /** End offset (in the raw value) of each top-level field of the event being routed. */
  private ends = new Int32Array(64);
  /** The distinct encodings of the event being routed: signature → bytes (a handful at most). */
  private readonly sigs: string[] = [];
  /** The delivering plans of the event being routed. */
  private readonly plans: RecipientPlan[] = [];
  private readonly bufs: Buffer[] = [];
  private readonly varint = new VarintReader();
  private readonly topics: Topics;
  /** Topic → its party and event type (null: not an ingress topic); a router reads a handful of topics. */
  private readonly ingress = new Map<string, Ingress | null>();

  constructor(
    private readonly catalog: SchemaCatalog,
    private readonly settings: CoreSettings,
  ) {
    this.topics = topics(settings.topicPrefix);
  }

  private ingressOf(topic: string): Ingress | null {
    let i = this.ingress.get(topic);
    if (i === undefined) this.ingress.set(topic, (i = this.topics.parseIngress(topic) ?? null));
    return i;
  }

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
    const out: BatchResult = { deliveries: new Map(), deadLetters: [], releases: new Map(), planCounts: new Map(), consumed: 0, timestamps: [] };
    for (const r of records) {
      out.consumed++;
      try {
        this.route(policy, r, quota, out);
      } catch (err) {
        const rej = err instanceof RejectedRecordError ? err : err instanceof PolicyError ? new RejectedRecordError("policy_error", err.message, { cause: err }) : undefined;
        if (!rej) throw err;
        out.deadLetters.push({ record: deadLetter(r, rej, policy.version, this.settings.maxDeadLetterBytes ?? DEFAULT_MAX_DEAD_LETTER_BYTES), reason: rej.reason });
      }
    }
    return out;
  }

  private route(policy: ActivePolicy, r: RawRecord, quota: QuotaView, out: BatchResult): void {
    const ingress = this.ingressOf(r.topic);
    if (ingress === null) throw new RejectedRecordError("unknown_topic", `${r.topic} is no party's ingress topic (${this.topics.rawPrefix}<party>.<orders|tracking|locker>)`);
    const v = r.value;
    if (v === null || v.length < 5 || v[0] !== 0) throw new RejectedRecordError("undecodable", "value is not in the Confluent wire format (magic byte 0 + schema id)");
    if (v.length > this.settings.maxRecordBytes) throw new RejectedRecordError("oversized", `record of ${v.length} bytes exceeds PX_MAX_RECORD_BYTES=${this.settings.maxRecordBytes}`);
    const schemaId = v.readInt32BE(1);
    const entry = this.catalog.get(schemaId);
    if (entry === undefined) throw new RejectedRecordError("unknown_schema", `schema id ${schemaId} was not loaded`);
    if (!entry.ok) throw new RejectedRecordError(entry.reason, entry.detail);
    const info = entry.info;
    if (info.eventType !== ingress.type) throw new RejectedRecordError("type_mismatch", `a ${info.eventType} (schema ${schemaId}) on ${r.topic}, the ${ingress.type} ingress topic of ${ingress.party}`);
    const layout = layoutOf(info);
    this.decode(info, layout, schemaId, v);
    // Only the routing attributes are needed as named values (a missing field reads as undefined).
    const ev = {
      eventId: this.valueAt(layout, v, layout.eventId),
      parcelId: this.valueAt(layout, v, layout.parcelId),
      platform: this.valueAt(layout, v, layout.platform),
      courier: this.valueAt(layout, v, layout.courier),
      locker: this.valueAt(layout, v, layout.locker),
    };
    const source = routingAttrs(info.eventType, ev);
    if (source !== ingress.party) throw new RejectedRecordError("spoofed_source", `${info.eventType} claims source '${source}' (${SOURCE_FIELD[info.eventType]}) on ${r.topic}, which only ${ingress.party} publishes to`);
    // routingAttrs has checked that platform and courier are non-empty strings.
    const platform = ev.platform as string;
    const courier = ev.courier as string;
    const locker = (ev.locker as string | null | undefined) ?? null;

    // Decide for every recipient before producing anything: a policy error sends the event to no one.
    // The arrays below are reused from event to event; only their first `np` / `ns` entries are this event's.
    const plans = this.plans;
    let np = 0;
    const parties = policy.parties;
    const slots = policy.cacheDecisions ? policy.slotsFor(schemaId, platform, courier, locker) : undefined;
    for (let i = 0; i < parties.length; i++) {
      const recipient = parties[i]!;
      if (recipient === source) continue;
      const q = quota.stateOf(recipient);
      let plan: RecipientPlan | PolicyError;
      const slot = slots === undefined ? undefined : slots[i];
      if (slot !== undefined && slot.sig === q.sig) {
        policy.cacheHits++;
        plan = slot.plan;
      } else {
        plan = this.lookup(policy, info, schemaId, source, platform, courier, locker, recipient, q);
        if (slots !== undefined) slots[i] = { sig: q.sig, plan };
      }
      if (plan instanceof PolicyError) throw plan;
      if (plan.deliver) plans[np++] = plan;
    }
    if (np === 0) return;

    const eventId = ev.eventId as string;
    const key = ev.parcelId as string;
    const version = policy.version;
    const sigs = this.sigs;
    const bufs = this.bufs;
    let ns = 0;
    for (let p = 0; p < np; p++) {
      const plan = plans[p]!;
      let bytes: Buffer | undefined;
      for (let j = 0; j < ns; j++) {
        if (sigs[j] === plan.signature) {
          bytes = bufs[j];
          break;
        }
      }
      if (bytes === undefined) {
        bytes = this.encode(layout, v, plan);
        sigs[ns] = plan.signature;
        bufs[ns++] = bytes;
      }
      let list = out.deliveries.get(plan.recipient);
      if (list === undefined) out.deliveries.set(plan.recipient, (list = []));
      list.push({
        key,
        value: bytes,
        // Few headers on purpose: each costs an encoder allocation per record in the Kafka client. The event
        // type and source are in the record itself; an absent px-transformed means nothing was transformed.
        headers: plan.transformedHeader === "" ? plainHeaders(version, eventId) : transformedHeaders(version, eventId, plan.transformedHeader),
      });
      out.planCounts.set(plan, (out.planCounts.get(plan) ?? 0) + 1);
      const released = plan.releasedPii;
      for (let c = 0; c < released.length; c++) {
        const rk = plan.releaseKeys[c]!;
        const rel = out.releases.get(rk);
        if (rel) rel.n++;
        else out.releases.set(rk, { recipient: plan.recipient, dataClass: released[c]!, n: 1, limit: plan.quotaLimits[released[c]!] });
      }
    }
    out.timestamps.push(Number(r.timestamp));
  }

  /** The decision for one recipient through the plan cache keyed by every attribute it depends on. */
  private lookup(
    policy: ActivePolicy,
    info: SchemaInfo,
    schemaId: number,
    source: string,
    platform: string,
    courier: string,
    locker: string | null,
    recipient: string,
    q: ReturnType<QuotaView["stateOf"]>,
  ): RecipientPlan | PolicyError {
    const input = (): PolicyInput => ({ event: { type: info.eventType, source, platform, courier, locker }, recipient, fields: fieldsInput(info), quota: q.quota });
    if (!policy.cacheDecisions) {
      policy.cacheMisses++;
      return this.decide(policy, info, input());
    }
    const key = `${schemaId}|${source}|${platform}|${courier}|${locker}|${recipient}|${q.sig}`;
    let plan = policy.plans.get(key);
    if (plan === undefined) {
      policy.cacheMisses++;
      plan = this.decide(policy, info, input());
      policy.plans.set(key, plan);
    } else {
      policy.cacheHits++;
    }
    return plan;
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

  /**
   * Walks the record field by field, noting where each field's bytes end, so that encode can copy the fields a
   * recipient gets unchanged instead of writing them again. String fields (plain or nullable, most of an event)
   * are only stepped over here; their text is read when something needs it (valueAt). Every other field is
   * decoded by avsc. The walk accepts and rejects exactly what decoding the whole record with avsc would.
   */
  private decode(info: SchemaInfo, layout: Layout, schemaId: number, v: Buffer): unknown[] {
    const n = layout.types.length;
    if (this.ends.length < n) this.ends = new Int32Array(n);
    const ends = this.ends;
    const vals = this.vals;
    const kinds = layout.kinds;
    const varint = this.varint;
    let pos = 5;
    try {
      for (let i = 0; i < n; i++) {
        const kind = kinds[i]!;
        if (kind === AVSC) {
          const d = layout.types[i]!.decode(v, pos);
          if (d.offset < 0) throw new Error("truncated record");
          vals[i] = d.value;
          pos = d.offset;
        } else {
          if (kind === NULLABLE_STRING) {
            const branch = varint.read(v, pos);
            pos = varint.end;
            if (pos < 0) throw new Error("truncated record");
            if (branch === 0) {
              vals[i] = null;
              ends[i] = pos;
              continue;
            }
            if (branch !== 1) throw new Error(`invalid union index: ${branch}`);
          }
          const len = varint.read(v, pos);
          pos = varint.end;
          if (pos < 0 || len < 0 || pos + len > v.length) throw new Error("truncated record");
          pos += len;
          vals[i] = UNREAD;
        }
        ends[i] = pos;
      }
      if (pos !== v.length) throw new Error(`${v.length - pos} trailing bytes`);
    } catch (err) {
      throw new RejectedRecordError("undecodable", `cannot decode with schema ${schemaId} (${info.eventType}): ${(err as Error).message}`);
    }
    return vals;
  }

  /** The value of field i of the event being routed (undefined for -1, a field the schema lacks). */
  private valueAt(layout: Layout, v: Buffer, i: number): unknown {
    if (i < 0) return undefined;
    const x = this.vals[i];
    if (x !== UNREAD) return x;
    const value = layout.types[i]!.decode(v, i === 0 ? 5 : this.ends[i - 1]!).value as unknown;
    this.vals[i] = value;
    return value;
  }

  /**
   * The record for one plan: the raw value's bytes for every field the plan leaves alone, and the transformed
   * value, encoded with the field's type, for each field it changes. A plan that changes nothing gets the raw
   * value itself (same schema id, same bytes). Records are written straight into a shared slab and handed out
   * as views of it: one allocation of a small object per record, no copy.
   */
  private encode(layout: Layout, v: Buffer, plan: RecipientPlan): Buffer {
    const ops = plan.ops;
    if (ops.length === 0) return v;
    const types = layout.types;
    const ends = this.ends;
    if (this.slab.length - this.slabPos < v.length + 1024) this.newSlab(v.length + 1024);
    let begin = this.slabPos;
    let w = begin;
    let from = 0; // start of the raw bytes not yet copied (the wire header included)
    for (let k = 0; k < ops.length; k++) {
      const op = ops[k]!;
      const value = this.valueAt(layout, v, op.index);
      if (value === null) continue; // null stays null: its bytes are copied with the run around it
      const start = op.index === 0 ? 5 : ends[op.index - 1]!;
      if (w + start - from > this.slab.length) {
        w = this.moveRecord(begin, w, start - from);
        begin = 0;
      }
      w = copyBytes(v, from, start, this.slab, w);
      from = ends[op.index]!;
      const t = types[op.index]!;
      const changed = op.transform.apply(value);
      let pos = t.encode(changed, this.slab, w);
      if (pos < 0) {
        // encode returns minus the number of bytes missing past the end of the buffer
        w = this.moveRecord(begin, w, this.slab.length - w - pos);
        begin = 0;
        pos = t.encode(changed, this.slab, w);
      }
      w = pos;
    }
    if (w + v.length - from > this.slab.length) {
      w = this.moveRecord(begin, w, v.length - from);
      begin = 0;
    }
    w = copyBytes(v, from, v.length, this.slab, w);
    this.slabPos = w;
    return this.slab.subarray(begin, w);
  }

  private newSlab(min: number): void {
    this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, min));
    this.slabPos = 0;
  }

  /** Moves the record being written (slab[begin, w)) to the start of a new slab with `more` bytes free after it; returns the new write position. */
  private moveRecord(begin: number, w: number, more: number): number {
    const old = this.slab;
    this.newSlab(w - begin + more);
    old.copy(this.slab, 0, begin, w);
    return w - begin;
  }
}

/** Copies src[from, to) to dst at `at`; returns the position after it. Short runs are copied byte by byte, which
 * is cheaper than Buffer#copy's argument checks for the few dozen bytes between two transformed fields. */
function copyBytes(src: Buffer, from: number, to: number, dst: Buffer, at: number): number {
  if (to - from > 128) return at + src.copy(dst, at, from, to);
  for (let i = from; i < to; i++) dst[at++] = src[i]!;
  return at;
}

/** How decode treats a field: decoded by avsc, or stepped over as a string / a ["null", "string"] union. */
const AVSC = 0;
const STRING = 1;
const NULLABLE_STRING = 2;
/** Marks a string field that was stepped over and not read yet. */
const UNREAD: unique symbol = Symbol("unread");

/** Reads zig-zag varints (Avro int/long): `read` returns the value and leaves the position after it in `end`. */
class VarintReader {
  /** Position after the last varint read (-1 when the buffer ended first). */
  end = 0;

  /** Reads the varint at pos; exact up to 2^53, which is all a length or index needs. */
  read(buf: Buffer, pos: number): number {
    let n = 0;
    let scale = 1;
    for (let k = 0; k < 10; k++) {
      if (pos >= buf.length) break;
      const b = buf[pos++]!;
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        this.end = pos;
        return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
      }
      scale *= 128;
    }
    this.end = -1;
    return 0;
  }
}

interface Layout {
  readonly types: readonly avro.Type[];
  readonly kinds: readonly number[];
  /** Positions of the routing attributes among the fields (-1 when the schema lacks one). */
  readonly eventId: number;
  readonly parcelId: number;
  readonly platform: number;
  readonly courier: number;
  readonly locker: number;
}

const layouts = new WeakMap<SchemaInfo, Layout>();
/** The top-level fields of a writer schema, in order, with their own avsc types. */
function layoutOf(info: SchemaInfo): Layout {
  let l = layouts.get(info);
  if (l === undefined) {
    const fields = (info.type as avro.types.RecordType).fields;
    const names = fields.map((f) => f.name);
    l = {
      types: fields.map((f) => f.type),
      kinds: fields.map((f) => kindOf(f.type)),
      eventId: names.indexOf("eventId"),
      parcelId: names.indexOf("parcelId"),
      platform: names.indexOf("platform"),
      courier: names.indexOf("courier"),
      locker: names.indexOf("locker"),
    };
    layouts.set(info, l);
  }
  return l;
}

function kindOf(t: avro.Type): number {
  if (t.typeName === "string") return STRING;
  if (t instanceof avro.types.UnwrappedUnionType) {
    const branches = t.types;
    if (branches.length === 2 && branches[0]!.typeName === "null" && branches[1]!.typeName === "string") return NULLABLE_STRING;
  }
  return AVSC;
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
  const source = sourceOf(type, ev);
  if (nonEmpty(ev.eventId) && nonEmpty(ev.parcelId) && nonEmpty(ev.courier) && nonEmpty(ev.platform) && (type !== "LockerEvent" || nonEmpty(ev.locker)) && nonEmpty(source)) {
    return source;
  }
  const missing: string[] = [];
  if (!nonEmpty(ev.eventId)) missing.push("eventId");
  if (!nonEmpty(ev.parcelId)) missing.push("parcelId");
  if (!nonEmpty(ev.courier)) missing.push("courier");
  if (!nonEmpty(ev.platform)) missing.push("platform");
  if (type === "LockerEvent" && !nonEmpty(ev.locker)) missing.push("locker");
  if (missing.length > 0 || !nonEmpty(source)) {
    throw new RejectedRecordError("missing_routing_attribute", `${type} lacks routing attribute(s): ${missing.join(", ") || "source"}`);
  }
  return source;
}

export const DEFAULT_MAX_DEAD_LETTER_BYTES = 1_000_000;

/** Bytes a record takes (key, value, header names and values), the part the broker's size limit counts. */
export function recordBytes(r: Pick<OutRecord, "key" | "value" | "headers">): number {
  let n = (r.key === null ? 0 : typeof r.key === "string" ? Buffer.byteLength(r.key) : r.key.length) + r.value.length;
  const size = (v: Buffer | string): number => (typeof v === "string" ? Buffer.byteLength(v) : v.length);
  for (const [k, v] of Object.entries(r.headers ?? EMPTY_HEADERS)) {
    n += Buffer.byteLength(k);
    if (v !== undefined) n += Array.isArray(v) ? v.reduce((m, x) => m + size(x), 0) : size(v);
  }
  return n;
}

/**
 * The dead-letter copy of a rejected record: the original with the reason, detail, origin and policy version in
 * headers. When that copy would exceed `maxBytes` (a record just under the broker's limit plus our headers would
 * not fit, and a dead letter that cannot be written stops the partition for good), the original's headers are
 * dropped and its value cut to what fits; `px-dl-truncated` gives the original length, `px-dl-sha256` its
 * digest, and `px-origin` where the whole record still is.
 */
export function deadLetter(r: RawRecord, err: RejectedRecordError, policyVersion: string, maxBytes = DEFAULT_MAX_DEAD_LETTER_BYTES): OutRecord {
  const value = r.value ?? Buffer.alloc(0);
  const ours: RecordHeaders = {
    [HEADERS.rejectReason]: err.reason,
    [HEADERS.rejectDetail]: err.message.slice(0, 1000),
    [HEADERS.origin]: `${r.topic}/${r.partition}/${r.offset}`,
    [HEADERS.policyVersion]: policyVersion,
  };
  const whole: OutRecord = { key: r.key, value, headers: { ...(r.headers ?? EMPTY_HEADERS), ...ours } };
  if (recordBytes(whole) <= maxBytes) return whole;
  const headers: RecordHeaders = {
    ...ours,
    [DEAD_LETTER_TRUNCATED]: String(value.length),
    [DEAD_LETTER_SHA256]: createHash("sha256").update(value).digest("hex"),
  };
  const key = r.key !== null && (typeof r.key === "string" ? Buffer.byteLength(r.key) : r.key.length) <= 1024 ? r.key : null;
  const room = Math.max(0, maxBytes - recordBytes({ key, value: Buffer.alloc(0), headers }));
  return { key, value: value.subarray(0, Math.min(value.length, room)), headers };
}

/** Header of a dead letter whose value was cut: the original value's length in bytes. */
export const DEAD_LETTER_TRUNCATED = "px-dl-truncated";
/** Header of a cut dead letter: SHA-256 (hex) of the original value. */
export const DEAD_LETTER_SHA256 = "px-dl-sha256";
