/**
 * PartyPublisher: how a courier, locker operator or marketplace puts its events on the exchange.
 *
 * Events are completed and validated on the client (schema + routing rules; nothing is sent when any event
 * is invalid), Avro-encoded in Confluent wire format with the registry id of the raw topic's subject, keyed by
 * parcelId so that a parcel's events stay in order in one partition, and sent with an idempotent producer
 * (acks = all).
 */
import { SdkError } from "./errors.js";
import type { Kafka, Message, Producer, TopicMessages } from "kafkajs";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import {
  DependencyError,
  HEADERS,
  PxError,
  createKafka,
  createLogger,
  createRegistryClient,
  ensureTopics,
  idempotentProducer,
  registerEventSchemas,
  topics as topicsOf,
  EVENT_TYPES,
  type Config,
  type EventType,
  type Logger,
  type Topics,
} from "../../shared/src/index.js";
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
import { isValidPartyId, prepareEvent, prepareEvents } from "./validate.js";

export { prepareEvent, prepareEvents } from "./validate.js";

export interface PublisherOptions {
  /** The publishing party's id; events must name it as their source (platform / courier / locker). */
  party: string;
  config: Config;
  logger?: Logger;
  /** A kafkajs client to use instead of one built from config. */
  kafka?: Kafka;
}

export class PartyPublisher {
  private closed = false;

  private constructor(
    readonly party: string,
    /** Registry id of each event type's schema under its raw topic subject. */
    readonly schemaIds: Readonly<Record<EventType, number>>,
    private readonly topics: Topics,
    private readonly producer: Producer,
    private readonly registry: SchemaRegistry,
    private readonly log: Logger,
  ) {}

  /**
   * Registers the event schemas (idempotent), creates the raw topics when missing and connects an
   * idempotent producer.
   */
  static async connect(opts: PublisherOptions): Promise<PartyPublisher> {
    const { party, config } = opts;
    if (!isValidPartyId(party)) {
      throw new SdkError("PARTY_INVALID", `party id '${String(party)}' must be 1-100 letters, digits, '.', '_' or '-'`);
    }
    const log = (opts.logger ?? createLogger("px-sdk", config.logLevel)).child({ component: "publisher", party });
    const kafka = opts.kafka ?? createKafka(config, log);
    const topics = topicsOf(config.topicPrefix);
    const registry = createRegistryClient(config);

    let schemaIds: Record<EventType, number>;
    try {
      schemaIds = await registerEventSchemas(config, topics, registry);
    } catch (err) {
      if (err instanceof PxError) throw err;
      throw new DependencyError("schema registry", `registering the event schemas failed: ${(err as Error).message}`, { cause: err });
    }

    const admin = kafka.admin();
    try {
      await admin.connect();
      await ensureTopics(admin, config, EVENT_TYPES.map((t) => ({ topic: topics.raw[t] })));
    } catch (err) {
      throw new DependencyError("kafka", `creating the raw topics failed: ${(err as Error).message}`, { cause: err });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }

    const producer = idempotentProducer(kafka, { allowAutoTopicCreation: false });
    try {
      await producer.connect();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw new DependencyError("kafka", `connecting the producer failed: ${(err as Error).message}`, { cause: err });
    }
    log.info({ schemaIds }, "publisher connected");
    return new PartyPublisher(party, schemaIds, topics, producer, registry, log);
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
   * Publishes several events, of any types, in one produce request across the raw topics. All are validated
   * first; if any is invalid none is sent. Resolves with the events as sent, in input order.
   */
  async publishMany(events: readonly ParcelEventInput[]): Promise<ParcelEvent[]> {
    this.assertOpen();
    const prepared = prepareEvents(events, this.party);
    if (prepared.length === 0) return [];
    const byTopic = new Map<string, Message[]>();
    const publishedAt = String(Date.now());
    for (const p of prepared) {
      const topic = this.topics.raw[p.type];
      const msg = await this.toMessage(p.type, p.event, publishedAt);
      const list = byTopic.get(topic);
      if (list) list.push(msg);
      else byTopic.set(topic, [msg]);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    try {
      await this.producer.sendBatch({ topicMessages, acks: -1 });
    } catch (err) {
      throw new DependencyError("kafka", `sending ${prepared.length} events failed: ${(err as Error).message}`, { cause: err });
    }
    this.log.debug({ count: prepared.length }, "published batch");
    return prepared;
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
    const message = await this.toMessage(type, event, String(Date.now()));
    try {
      await this.producer.send({ topic: this.topics.raw[type], messages: [message], acks: -1 });
    } catch (err) {
      throw new DependencyError("kafka", `sending ${type} ${event.eventId} failed: ${(err as Error).message}`, { cause: err });
    }
    this.log.debug({ type, eventId: event.eventId }, "published");
    return event;
  }

  private async toMessage(type: EventType, event: EventMap[EventType], publishedAt: string): Promise<Message> {
    let value: Buffer;
    try {
      value = await this.registry.encode(this.schemaIds[type], event);
    } catch (err) {
      throw new DependencyError("schema registry", `encoding ${type} with schema id ${this.schemaIds[type]} failed: ${(err as Error).message}`, { cause: err });
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
