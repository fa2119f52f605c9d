/**
 * PartyPublisher: how a courier, locker operator or marketplace puts its events on the exchange.
 *
 * Events are completed and validated on the client (schema + routing rules; nothing is sent when any event
 * is invalid), Avro-encoded in Confluent wire format with the registry id of the event type's subject, keyed by
 * parcelId so that a parcel's events stay in order in one partition, and sent with an idempotent producer
 * (acks = all) to the party's own ingress topic of the event type, `<prefix>.raw.<party>.<orders|tracking|locker>`.
 *
 * The exchange provisions a party (its ingress topics, the schemas, its credentials and write rights on its
 * topics only); the publisher creates and registers nothing. It looks the schema ids up and checks at connect
 * that the party has ingress topics.
 */
import { SdkError } from "./errors.js";
import type { Kafka, Message, Producer, TopicMessages } from "kafkajs";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import {
  DependencyError,
  HEADERS,
  PxError,
  RegistryHttp,
  createKafka,
  createLogger,
  createRegistryClient,
  idempotentProducer,
  isPartyId,
  isServiceId,
  lookupEventSchemaIds,
  partyOfPrincipal,
  topics as topicsOf,
  whenReady,
  EVENT_TYPES,
  type Config,
  type EventType,
  type Logger,
} from "@parcel-exchange/shared";
import type {
  EventInputMap,
  EventMap,
  LockerEvent,
  LockerEventInput,
  OrderCreated,
  OrderCreatedInput,
  ParcelEvent,
  ParcelEventInput,
  TrackingEvent,
  TrackingEventInput,
} from "./types.js";
import { prepareEvent, prepareEvents } from "./validate.js";

export { prepareEvent, prepareEvents } from "./validate.js";

export interface PublisherOptions {
  /**
   * The publishing party's id; events must name it as their source (platform / courier / locker). Defaults to
   * the party the SASL username names (`<prefix>.<party>`); when both are there they must agree.
   */
  party?: string;
  config: Config;
  logger?: Logger;
  /** A kafkajs client to use instead of one built from config. */
  kafka?: Kafka;
  /**
   * Publish in Kafka transactions under this transactional id (it must be the publisher's own: under
   * `<prefix>.<party>.` for a party). Needed for publishInTransaction; a restarted publisher with the same id
   * fences the one before it and aborts what it left open.
   */
  transactionalId?: string;
}

/**
 * The publishing party: the one given, else the one the SASL username of the configuration names. A party
 * given explicitly that differs from the username's is refused (PARTY_MISMATCH): a party publishes only as
 * itself. A username that names no party of this deployment (an operator's) does not count.
 */
export function resolveParty(party: string | undefined, config: Pick<Config, "topicPrefix" | "kafka">): string {
  const username = config.kafka.sasl?.username;
  // A service's username (the HTTP gateway publishing for the parties it authenticated) names no party.
  const named = username === undefined ? undefined : partyOfPrincipal(config.topicPrefix, username);
  const fromUser = named === undefined || isServiceId(named) ? undefined : named;
  if (party === undefined) {
    if (fromUser !== undefined) return fromUser;
    throw new SdkError(
      "PARTY_INVALID",
      username === undefined
        ? `no party: pass one, or connect with a party's credentials (KAFKA_SASL_USERNAME=${config.topicPrefix}.<party>)`
        : `no party: the SASL username '${username}' names no party (${config.topicPrefix}.<party>); pass the party`,
    );
  }
  if (!isPartyId(party)) throw new SdkError("PARTY_INVALID", `party id '${String(party)}' must be lowercase letters, digits and '-', starting with a letter or digit`);
  if (fromUser !== undefined && fromUser !== party) {
    throw new SdkError("PARTY_MISMATCH", `party '${party}' is not the party of the credentials (SASL username '${username}' is ${fromUser}): a party publishes only as itself`);
  }
  return party;
}

/** How long connect() looks for the party's ingress topics before it refuses (new topics propagate to brokers). */
const INGRESS_WAIT_MS = 5_000;

export class PartyPublisher {
  private closed = false;

  private constructor(
    readonly party: string,
    /** Registry id of the schema of each event type the party has an ingress topic for. */
    readonly schemaIds: Readonly<Partial<Record<EventType, number>>>,
    /** Event type → the party's ingress topic, for the types it has one for. */
    private readonly ingress: ReadonlyMap<EventType, string>,
    private readonly producer: Producer,
    private readonly registry: SchemaRegistry,
    private readonly log: Logger,
    private readonly transactional = false,
  ) {}

  /**
   * Finds the party's ingress topics (at least one must exist), looks up the registry ids of their event
   * types' schemas and connects an idempotent producer. Creates and registers nothing.
   */
  static async connect(opts: PublisherOptions): Promise<PartyPublisher> {
    const { config } = opts;
    const party = resolveParty(opts.party, config);
    const log = (opts.logger ?? createLogger("px-sdk", config.logLevel)).child({ component: "publisher", party });
    const kafka = opts.kafka ?? createKafka(config, log);
    const topics = topicsOf(config.topicPrefix);

    const admin = kafka.admin();
    let existing = new Set<string>();
    const own = EVENT_TYPES.map((t) => topics.ingress(party, t));
    try {
      await admin.connect();
      // A topic the exchange has just provisioned may not be in every broker's metadata yet: look again for a
      // few seconds before concluding that the party has no ingress topic.
      const deadline = Date.now() + INGRESS_WAIT_MS;
      for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
        existing = new Set(await whenReady("list topics", () => admin.listTopics()));
        if (own.some((t) => existing.has(t)) || Date.now() + delay > deadline) break;
        await new Promise((r) => setTimeout(r, delay));
      }
    } catch (err) {
      if (err instanceof PxError) throw err;
      throw new DependencyError("kafka", `listing the topics failed: ${(err as Error).message}`, { cause: err });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const ingress = new Map(EVENT_TYPES.map((t) => [t, topics.ingress(party, t)] as const).filter(([, topic]) => existing.has(topic)));
    if (ingress.size === 0) {
      const names = EVENT_TYPES.map((t) => topics.ingress(party, t)).join(" / ");
      throw new SdkError("INGRESS_MISSING", `no ingress topic ${names} for party ${party}: ask the exchange to provision the party`);
    }

    let schemaIds: Partial<Record<EventType, number>>;
    try {
      schemaIds = await lookupEventSchemaIds(config, topics, new RegistryHttp(config), [...ingress.keys()]);
    } catch (err) {
      if (err instanceof PxError) throw err;
      throw new DependencyError("schema registry", `looking up the event schemas failed: ${(err as Error).message}`, { cause: err });
    }

    const producer = idempotentProducer(kafka, { allowAutoTopicCreation: false, ...(opts.transactionalId !== undefined ? { transactionalId: opts.transactionalId, transactionTimeout: 60_000 } : {}) });
    try {
      await producer.connect();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw new DependencyError("kafka", `connecting the producer failed: ${(err as Error).message}`, { cause: err });
    }
    log.info({ schemaIds, ingress: [...ingress.values()] }, "publisher connected");
    return new PartyPublisher(party, schemaIds, ingress, producer, createRegistryClient(config), log, opts.transactionalId !== undefined);
  }

  /** Publishes an OrderCreated (platform must be this party). Resolves with the event as sent. */
  order(e: OrderCreatedInput): Promise<OrderCreated> {
    return this.publishOne("OrderCreated", e);
  }

  /** Publishes a TrackingEvent (courier must be this party; platform is required). */
  tracking(e: TrackingEventInput): Promise<TrackingEvent> {
    return this.publishOne("TrackingEvent", e);
  }

  /** Publishes a LockerEvent (locker must be this party; platform is required). */
  locker(e: LockerEventInput): Promise<LockerEvent> {
    return this.publishOne("LockerEvent", e);
  }

  /**
   * Publishes several events, of any types, in one produce request across the party's ingress topics. All are
   * validated first; if any is invalid (or of a type the party has no ingress topic for) none is sent. Resolves
   * with the events as sent, in input order.
   */
  async publishMany(events: readonly ParcelEventInput[]): Promise<ParcelEvent[]> {
    this.assertOpen();
    if (this.transactional) throw new SdkError("PUBLISHER_TRANSACTIONAL", "this publisher publishes in transactions: use publishInTransaction");
    const prepared = prepareEvents(events, this.party);
    if (prepared.length === 0) return [];
    const topicMessages = await this.topicMessagesOf(prepared);
    try {
      await this.producer.sendBatch({ topicMessages, acks: -1 });
    } catch (err) {
      throw new DependencyError("kafka", `sending ${prepared.length} events failed: ${(err as Error).message}`, { cause: err });
    }
    this.log.debug({ count: prepared.length }, "published batch");
    return prepared;
  }

  /**
   * Validates every event first (nothing is sent when one is invalid), then sends the events and `alongside`
   * (records of the caller's own topics, e.g. a request log) in one Kafka transaction: a read-committed reader
   * sees all of them or none. Needs the `transactionalId` option. Calls are serialised by the caller; one
   * transaction at a time per publisher.
   */
  async publishInTransaction(events: readonly ParcelEventInput[], alongside: readonly TopicMessages[] = []): Promise<ParcelEvent[]> {
    this.assertOpen();
    if (!this.transactional) throw new SdkError("PUBLISHER_TRANSACTIONAL", "publishInTransaction needs a publisher connected with the transactionalId option");
    const prepared = prepareEvents(events, this.party);
    const topicMessages = [...(await this.topicMessagesOf(prepared)), ...alongside];
    if (topicMessages.length === 0) return [];
    const tx = await this.producer.transaction();
    try {
      await tx.sendBatch({ topicMessages, acks: -1 });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw new DependencyError("kafka", `sending ${prepared.length} events in a transaction failed: ${(err as Error).message}`, { cause: err });
    }
    this.log.debug({ count: prepared.length }, "published in a transaction");
    return prepared;
  }

  private async topicMessagesOf(prepared: readonly ParcelEvent[]): Promise<TopicMessages[]> {
    for (const p of prepared) this.topicOf(p.type);
    const byTopic = new Map<string, Message[]>();
    const publishedAt = String(Date.now());
    for (const p of prepared) {
      const topic = this.topicOf(p.type);
      const msg = await this.toMessage(p.type, p.event, publishedAt);
      const list = byTopic.get(topic);
      if (list) list.push(msg);
      else byTopic.set(topic, [msg]);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  async disconnect(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect();
    this.log.info("publisher disconnected");
  }

  private async publishOne<K extends EventType>(type: K, input: EventInputMap[K]): Promise<EventMap[K]> {
    this.assertOpen();
    const event = prepareEvent(type, input, this.party);
    const topic = this.topicOf(type);
    const message = await this.toMessage(type, event, String(Date.now()));
    try {
      await this.producer.send({ topic, messages: [message], acks: -1 });
    } catch (err) {
      throw new DependencyError("kafka", `sending ${type} ${event.eventId} failed: ${(err as Error).message}`, { cause: err });
    }
    this.log.debug({ type, eventId: event.eventId }, "published");
    return event;
  }

  /** The party's ingress topic of an event type; SdkError when the exchange has provisioned none. */
  private topicOf(type: EventType): string {
    const topic = this.ingress.get(type);
    if (topic === undefined) throw new SdkError("INGRESS_MISSING", `no ${type} ingress topic for party ${this.party} (it has ${[...this.ingress.values()].join(", ")}): ask the exchange to provision the party for ${type}`);
    return topic;
  }

  private async toMessage(type: EventType, event: EventMap[EventType], publishedAt: string): Promise<Message> {
    const id = this.schemaIds[type]!; // present for every type with an ingress topic (topicOf checked it)
    let value: Buffer;
    try {
      value = await this.registry.encode(id, event);
    } catch (err) {
      throw new DependencyError("schema registry", `encoding ${type} with schema id ${id} failed: ${(err as Error).message}`, { cause: err });
    }
    return {
      key: event.parcelId,
      value,
      headers: { [HEADERS.source]: this.party, [HEADERS.publishedAt]: publishedAt },
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new SdkError("PUBLISHER_CLOSED", "the publisher is disconnected; connect a new one");
  }
}
