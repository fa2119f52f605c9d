/**
 * DeliverySubscriber: how a party reads the per-recipient copies the router writes to `px.deliver.<party>`.
 *
 * Reads committed records only (the router writes transactionally), decodes them with the schema registry
 * and parses the router's headers into a typed Delivery. A record that cannot be decoded is reported to
 * `onError` and skipped; it never stops the subscriber.
 */
import { SdkError } from "./errors.js";
import type avro from "avsc";
import type { Consumer, IHeaders, Kafka, KafkaMessage } from "kafkajs";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import {
  DependencyError,
  EVENT_TYPES,
  HEADERS,
  NAMESPACE,
  createKafka,
  createLogger,
  createRegistryClient,
  ensureTopics,
  ownGroup,
  subscribeWhenReady,
  topics as topicsOf,
  type Config,
  type EventType,
  type Logger,
} from "@parcel-exchange/shared";
import type { Delivery, TransformedField } from "./types.js";
import { avroTypeOf, isValidPartyId } from "./validate.js";

/** Where an undecodable record sits, for the onError callback. */
export interface RecordLocation {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
}

/** A record on the delivery topic that could not be turned into a Delivery. */
export class DeliveryDecodeError extends SdkError {
  readonly location: RecordLocation;
  constructor(message: string, location: RecordLocation, opts: { cause?: unknown } = {}) {
    super("DELIVERY_UNDECODABLE", `${location.topic}[${location.partition}]@${location.offset}: ${message}. The record is skipped.`, opts);
    this.location = location;
  }
}

export type DeliveryErrorHandler = (err: DeliveryDecodeError) => void;

export interface SubscriberOptions {
  party: string;
  config: Config;
  /** Consumer group; defaults to `px-sdk-<party>`. */
  groupId?: string;
  /** Where a group with no committed offset starts: the earliest record (true) or new records (default). */
  fromBeginning?: boolean;
  logger?: Logger;
  /** A kafkajs client to use instead of one built from config. */
  kafka?: Kafka;
  /** Called for each record that cannot be decoded (the record is then skipped). Defaults to a warning log. */
  onError?: DeliveryErrorHandler;
  /** Called for each policy notice (a coming reduction of what this party receives). Defaults to a warning log. */
  onNotice?: (notice: PolicyNotice) => void;
}

/** A policy notice: an approved change will reduce what the party receives from `effectiveAt`. */
export interface PolicyNotice {
  noticeId: string;
  proposalId: string;
  party: string;
  proposedVersion: string;
  effectiveAt: number;
  summary: string;
  changes: string[];
}

export interface CollectOptions {
  /** Stop once this many deliveries have been received. */
  count?: number;
  /** Stop when no record arrives for this long (counted from joining the group, then from each record). */
  idleMs?: number;
  /** Stop after this long in any case. */
  timeoutMs: number;
}

/** Parses the router's `px-transformed` header: comma-separated `field:action` pairs, "" for none. */
export function parseTransformed(raw: string | undefined): TransformedField[] {
  if (raw === undefined) return [];
  const out: TransformedField[] = [];
  for (const part of raw.split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const i = item.indexOf(":");
    out.push(i < 0 ? { field: item, action: "" } : { field: item.slice(0, i).trim(), action: item.slice(i + 1).trim() });
  }
  return out;
}

function headerValue(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined) return undefined;
  return typeof first === "string" ? first : first.toString("utf8");
}

function eventTypeOfName(name: string | undefined): EventType | undefined {
  if (name === undefined) return undefined;
  const dot = name.lastIndexOf(".");
  const ns = dot < 0 ? undefined : name.slice(0, dot);
  const short = dot < 0 ? name : name.slice(dot + 1);
  if (ns !== undefined && ns !== NAMESPACE) return undefined;
  return (EVENT_TYPES as readonly string[]).includes(short) ? (short as EventType) : undefined;
}

/** Decodes one record of a delivery topic. Exported for tests and for callers that fetch records themselves. */
export async function decodeDelivery(registry: SchemaRegistry, topic: string, partition: number, message: KafkaMessage): Promise<Delivery> {
  const key = message.key === null ? null : message.key.toString("utf8");
  const location: RecordLocation = { topic, partition, offset: message.offset, key };
  const value = message.value;
  if (value === null) throw new DeliveryDecodeError("the record has no value (tombstone)", location);
  if (value.length < 5 || value[0] !== 0) throw new DeliveryDecodeError("the value is not in Confluent wire format (magic byte 0 + schema id)", location);

  const schemaId = value.readInt32BE(1);
  let schemaName: string | undefined;
  try {
    schemaName = (await registry.getSchema(schemaId) as { name?: string }).name;
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    // An id the registry does not know (404) is the registry's gap, not the record's fault: the exchange only
    // writes registered ids, and a registry restarted without its schemas answers 404 for all of them. Skipping
    // would lose deliveries, so it is thrown like any registry failure and the record is retried, never skipped.
    // Only an unparseable schema (422) is the record's problem.
    if (status === 404) {
      throw new DependencyError("schema registry", `schema id ${schemaId} is unknown to the registry (was it restarted without its schemas?); the record is not skipped: consuming waits and retries until the registry knows it`, { cause: err });
    }
    if (typeof status === "number" && status !== 422) {
      throw new DependencyError("schema registry", `fetching schema ${schemaId} failed: ${(err as Error).message}`, { cause: err });
    }
    throw new DeliveryDecodeError(`schema id ${schemaId} cannot be used: ${(err as Error).message}`, location, { cause: err });
  }
  let decoded: unknown;
  try {
    decoded = await registry.decode(value);
  } catch (err) {
    throw new DeliveryDecodeError(`decoding with schema id ${schemaId} failed: ${(err as Error).message}`, location, { cause: err });
  }
  if (typeof decoded !== "object" || decoded === null) throw new DeliveryDecodeError("the value is not an Avro record", location);

  const headerType = headerValue(message.headers, HEADERS.eventType);
  const type = eventTypeOfName(schemaName) ?? eventTypeOfName(headerType);
  if (type === undefined) {
    throw new DeliveryDecodeError(`neither the schema name '${String(schemaName)}' nor the ${HEADERS.eventType} header '${String(headerType)}' is a Parcel Exchange event type`, location);
  }

  // Plain objects (avsc gives record-class instances); fields a policy removed from the recipient's schema
  // come back as their canonical default (null) so the event matches its TypeScript shape.
  const event: Record<string, unknown> = structuredClone({ ...(decoded as Record<string, unknown>) });
  for (const f of (avroTypeOf(type) as avro.types.RecordType).fields) {
    if (event[f.name] === undefined) {
      const dflt: unknown = f.defaultValue();
      if (dflt !== undefined) event[f.name] = dflt;
    }
  }

  return {
    type,
    event,
    policyVersion: headerValue(message.headers, HEADERS.policyVersion) ?? "",
    sourceEventId: headerValue(message.headers, HEADERS.sourceEventId) ?? (typeof event.eventId === "string" ? event.eventId : ""),
    transformed: parseTransformed(headerValue(message.headers, HEADERS.transformed)),
    partition,
    offset: message.offset,
    key,
  } as unknown as Delivery;
}

export class DeliverySubscriber {
  private running = false;
  private closed = false;

  private constructor(
    readonly party: string,
    readonly topic: string,
    private readonly consumer: Consumer,
    private readonly registry: SchemaRegistry,
    private readonly log: Logger,
    private readonly onError: DeliveryErrorHandler,
    private readonly onNotice: (notice: PolicyNotice) => void,
  ) {}

  /** Creates the delivery topic when missing, connects a read-committed consumer and subscribes it. */
  static async connect(opts: SubscriberOptions): Promise<DeliverySubscriber> {
    const { party, config } = opts;
    if (!isValidPartyId(party)) {
      throw new SdkError("PARTY_INVALID", `party id '${String(party)}' must be 1-100 letters, digits, '.', '_' or '-'`);
    }
    const log = (opts.logger ?? createLogger("px-sdk", config.logLevel)).child({ component: "subscriber", party });
    const kafka = opts.kafka ?? createKafka(config, log);
    const topic = topicsOf(config.topicPrefix).deliver(party);

    const admin = kafka.admin();
    try {
      await admin.connect();
      await ensureTopics(admin, config, [{ topic }]);
    } catch (err) {
      throw new DependencyError("kafka", `creating ${topic} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }

    const consumer = kafka.consumer({ groupId: opts.groupId ?? ownGroup(config, "subscriber"), readUncommitted: false, allowAutoTopicCreation: false });
    try {
      await consumer.connect();
      await subscribeWhenReady(consumer, { topics: [topic], fromBeginning: opts.fromBeginning ?? false });
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw new DependencyError("kafka", `subscribing to ${topic} failed: ${(err as Error).message}`, { cause: err });
    }
    const onError: DeliveryErrorHandler =
      opts.onError ?? ((err) => log.warn({ err, location: err.location }, "skipping an undecodable delivery"));
    log.info({ topic }, "subscriber connected");
    const onNotice = opts.onNotice ?? ((n: PolicyNotice) => log.warn({ notice: n }, "policy notice: what this party receives will be reduced"));
    return new DeliverySubscriber(party, topic, consumer, createRegistryClient(config), log, onError, onNotice);
  }

  /**
   * Runs the handler for each delivery, one at a time per partition. Offsets are committed after the handler
   * returns; when it throws, kafkajs retries the record (at-least-once). Resolves once consuming has started.
   */
  async run(handler: (d: Delivery) => Promise<void> | void): Promise<void> {
    this.startRunning();
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const d = await this.decodeOrReport(topic, partition, message);
        if (d !== undefined) await handler(d);
      },
    });
  }

  /**
   * Consumes until `count` deliveries arrived, nothing arrived for `idleMs`, or `timeoutMs` passed, then
   * stops consuming and resolves with the deliveries (in arrival order). Only the returned deliveries (and
   * skipped undecodable records) are committed, so a later run continues after them.
   */
  async collect(opts: CollectOptions): Promise<Delivery[]> {
    this.startRunning();
    const got: Delivery[] = [];
    let finished = false;
    let crash: unknown;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const finish = (): void => {
      if (!finished) {
        finished = true;
        resolveDone();
      }
    };
    let idle: NodeJS.Timeout | undefined;
    const armIdle = (): void => {
      if (opts.idleMs === undefined || finished) return;
      clearTimeout(idle);
      idle = setTimeout(finish, opts.idleMs);
    };
    const timeout = setTimeout(finish, opts.timeoutMs);
    const offJoin = this.consumer.on(this.consumer.events.GROUP_JOIN, armIdle);
    const offCrash = this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (!e.payload.restart) {
        crash = e.payload.error;
        finish();
      }
    });
    if (opts.count !== undefined && opts.count <= 0) finish();

    try {
      if (!finished) {
        await this.consumer.run({
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            for (const message of batch.messages) {
              if (finished || !isRunning() || isStale()) break;
              const d = await this.decodeOrReport(batch.topic, batch.partition, message);
              if (finished) break;
              if (d !== undefined) got.push(d);
              resolveOffset(message.offset);
              armIdle();
              if (opts.count !== undefined && got.length >= opts.count) finish();
            }
            await heartbeat();
          },
        });
      }
      await done;
    } finally {
      clearTimeout(timeout);
      clearTimeout(idle);
      offJoin();
      offCrash();
      await this.consumer.stop();
      this.running = false;
    }
    if (crash !== undefined) throw new DependencyError("kafka", `the consumer crashed: ${(crash as Error).message}`, { cause: crash });
    return got;
  }

  /** Stops consuming and disconnects. */
  async disconnect(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.consumer.disconnect();
    this.log.info("subscriber disconnected");
  }

  private startRunning(): void {
    if (this.closed) throw new SdkError("SUBSCRIBER_CLOSED", "the subscriber is disconnected; connect a new one");
    if (this.running) throw new SdkError("SUBSCRIBER_BUSY", "the subscriber is already running; use one run() or collect() at a time");
    this.running = true;
  }

  private async decodeOrReport(topic: string, partition: number, message: KafkaMessage): Promise<Delivery | undefined> {
    if (headerValue(message.headers, HEADERS.notice) === "1" && message.value !== null) {
      try {
        this.onNotice(structuredClone({ ...((await this.registry.decode(message.value)) as PolicyNotice) }));
      } catch (err) {
        this.log.error({ err, offset: message.offset }, "policy notice could not be decoded or handled; skipped");
      }
      return undefined;
    }
    try {
      return await decodeDelivery(this.registry, topic, partition, message);
    } catch (err) {
      if (err instanceof DependencyError) throw err;
      const e =
        err instanceof DeliveryDecodeError
          ? err
          : new DeliveryDecodeError((err as Error).message, { topic, partition, offset: message.offset, key: message.key?.toString("utf8") ?? null }, { cause: err });
      try {
        this.onError(e);
      } catch (cbErr) {
        this.log.error({ err: cbErr }, "onError callback threw; the record is skipped anyway");
      }
      return undefined;
    }
  }
}
