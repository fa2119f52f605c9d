/**
 * The ledger on Kafka: topic `<prefix>.ledger`, one partition (so the log order is the chain order), kept
 * forever (retention.ms=-1, retention.bytes=-1, cleanup.policy=delete — never compacted). Record key = seq.
 *
 * Single writer. Appends are serialised in-process (a promise queue), and across processes by Kafka
 * transactions: every writer uses the transactional id `<prefix>.ledger-writer`. When a second writer opens,
 * its producer's InitProducerId bumps the epoch for that id, which aborts any transaction the first writer had
 * open and makes the broker reject everything the first writer sends afterwards. The first writer's next
 * append therefore fails with LedgerFencedError (its entry is not recorded) instead of forking the chain. The
 * new writer initialises its producer *before* reading the head, so it reads a log no older writer can
 * still change, and continues from the true head. A fenced store never re-initialises its producer (that would
 * take the role back from the newer writer); it must be closed.
 *
 * Readers use read_committed and stop at the last stable offset, so aborted or open transactions are never
 * seen as entries.
 */
import { randomUUID } from "node:crypto";
import kafkajs, { type Admin, type Kafka, type Producer, type Transaction } from "kafkajs";
import { DependencyError, errorChain, idempotentProducer, ownGroup, PxError, subscribeWhenReady, waitForTopics, whenReady, type Config, type Logger, type Signer, type Verifier } from "@parcel-exchange/shared";
import { nextEntry, verifyChain } from "./chain.js";
import type { LedgerDraft, LedgerEntry } from "./entry.js";
import { LedgerClosedError, LedgerFencedError, LedgerIntegrityError, LedgerReadOnlyError, LedgerTopicError } from "./errors.js";

// kafkajs is CommonJS; Node cannot see this export by name from ESM.
const { ConfigResourceTypes } = kafkajs;

export function ledgerTopic(topicPrefix: string): string {
  return `${topicPrefix}.ledger`;
}

export function ledgerTransactionalId(topicPrefix: string): string {
  return `${topicPrefix}.ledger-writer`;
}

export interface LedgerStoreOptions {
  readonly config: Config;
  readonly kafka: Kafka;
  readonly log: Logger;
  /** The policy service's signer. Without it the store is read-only (append throws LedgerReadOnlyError). */
  readonly signer?: Signer;
  /**
   * Public key(s) to verify the ledger with when a writer opens it. Without one, a writer still checks hashes,
   * links and order, but not signatures. A writer refuses to open (LedgerIntegrityError) a ledger that fails.
   */
  readonly verifier?: Verifier | readonly Verifier[];
  /** How long reading the topic to its end may take; default 60 s. */
  readonly readTimeoutMs?: number;
}

const REQUIRED_CONFIG: Readonly<Record<string, string>> = { "retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete" };


/** kafkajs reports fencing as INVALID_PRODUCER_EPOCH (older request versions) or PRODUCER_FENCED. */
function isFencing(err: unknown): boolean {
  return errorChain(err).some((e) => {
    const o = e as { type?: unknown; message?: unknown };
    return o.type === "INVALID_PRODUCER_EPOCH" || o.type === "PRODUCER_FENCED" || (typeof o.message === "string" && /fenced|older epoch|old epoch/i.test(o.message));
  });
}

async function ensureLedgerTopic(admin: Admin, config: Config, topic: string): Promise<void> {
  if (!(await whenReady("list topics", () => admin.listTopics())).includes(topic)) {
    try {
      await whenReady("create the ledger topic", () => admin.createTopics({
        waitForLeaders: false,
        topics: [
          {
            topic,
            numPartitions: 1,
            replicationFactor: config.kafka.replicationFactor,
            configEntries: Object.entries(REQUIRED_CONFIG).map(([name, value]) => ({ name, value })),
          },
        ],
      }));
    } catch (err) {
      // Another process may have created it between list and create.
      if (!(await admin.listTopics()).includes(topic)) throw err;
    }
  }
  await waitForTopics(admin, [topic]);
  const meta = await whenReady("ledger topic metadata", () => admin.fetchTopicMetadata({ topics: [topic] }));
  const partitions = meta.topics[0]?.partitions.length ?? 0;
  if (partitions !== 1) {
    throw new LedgerTopicError(topic, `it has ${partitions} partitions, so Kafka does not keep the entries in one order`, `the ledger needs exactly one partition: recreate ${topic} with one partition and restore it from the last export`);
  }
  // On a multi-broker cluster a topic just created may not be known to the broker asked yet: wait that out.
  const described = await whenReady("ledger topic configs", () => admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: Object.keys(REQUIRED_CONFIG) }],
  }));
  const actual = new Map((described.resources[0]?.configEntries ?? []).map((c) => [c.configName, c.configValue]));
  for (const [name, value] of Object.entries(REQUIRED_CONFIG)) {
    if (actual.get(name) !== value) {
      throw new LedgerTopicError(topic, `${name} is ${actual.get(name) ?? "unset"}, so Kafka may delete or compact ledger entries`, `set it with \`kafka-configs.sh --bootstrap-server <broker> --alter --entity-type topics --entity-name ${topic} --add-config ${name}=${value}\``);
    }
  }
}

export class LedgerStore {
  readonly topic: string;
  readonly transactionalId: string;
  private headEntry: LedgerEntry | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private fenced: LedgerFencedError | undefined;
  /** Set when an append's outcome is unknown: the head is re-read from the topic before the next append. */
  private stale = false;
  /** Log offset of this store's last committed append; readAll waits until the stable offset passes it. */
  private lastWritten = -1;
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer | undefined,
    private readonly signer: Signer | undefined,
    private readonly log: Logger,
    private readonly readTimeoutMs: number,
    private readonly config: Config,
  ) {
    this.topic = ledgerTopic(config.topicPrefix);
    this.transactionalId = ledgerTransactionalId(config.topicPrefix);
  }

  /**
   * Ensures the topic (creating it if missing; refusing one configured so entries could be lost), takes the
   * writer role if a signer is given (fencing any earlier writer), and reads the whole ledger to find its head.
   */
  static async open(opts: LedgerStoreOptions): Promise<LedgerStore> {
    const { config, kafka, signer } = opts;
    const log = opts.log.child({ component: "ledger" });
    const topic = ledgerTopic(config.topicPrefix);
    const admin = kafka.admin();
    let producer: Producer | undefined;
    try {
      try {
        await admin.connect();
        await ensureLedgerTopic(admin, config, topic);
        if (signer !== undefined) {
          producer = idempotentProducer(kafka, { transactionalId: ledgerTransactionalId(config.topicPrefix), transactionTimeout: 30_000 });
          await producer.connect();
          // kafkajs 2.2.4 sends the transactional InitProducerId on the first transaction(), not on connect().
          // Starting and aborting an empty transaction sends it now (no EndTxn is needed for an empty one): it
          // bumps the epoch, fencing the previous writer and aborting any transaction it left open, before we
          // read the head.
          await (await producer.transaction()).abort();
        }
      } catch (err) {
        if (err instanceof PxError) throw err;
        throw new DependencyError("kafka", `cannot open ledger topic ${topic} (${(err as Error).message}); check that the brokers ${config.kafka.brokers.join(",")} are reachable and retry`, { cause: err });
      }
      const store = new LedgerStore(kafka, admin, producer, signer, log, opts.readTimeoutMs ?? 60_000, config);
      const entries = await store.readAll();
      if (signer !== undefined) {
        // Without a verifier, accept any signature but still check hashes, links and order.
        const verifier = opts.verifier ?? [...new Set(entries.map((e) => e.keyId))].map((keyId) => ({ keyId, verify: () => true }));
        const result = verifyChain(entries, verifier);
        if (!result.ok) throw new LedgerIntegrityError(topic, result.problems);
      }
      store.headEntry = entries[entries.length - 1];
      log.info({ topic, entries: entries.length, head: store.headEntry?.hash, writer: signer !== undefined }, "ledger opened");
      return store;
    } catch (err) {
      await producer?.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      throw err;
    }
  }

  /** The last entry (undefined for an empty ledger), as this store knows it. */
  get head(): LedgerEntry | undefined {
    return this.headEntry;
  }

  /**
   * Records a draft as the next entry and returns it once Kafka has committed it. Appends from one store run
   * one at a time, in call order. Throws LedgerDraftError (bad draft, nothing sent), LedgerReadOnlyError,
   * LedgerFencedError (another writer took over; not retriable) or DependencyError (Kafka failed). After a
   * failed commit the store reads the log back: if the entry did land it is returned as a success; otherwise
   * the DependencyError says it was not recorded (retrying is safe), or, if the log could not be read either,
   * that the outcome is unknown (the head is re-read before the next append).
   */
  append(draft: LedgerDraft): Promise<LedgerEntry> {
    const run = this.queue.then(() => this.appendNow(draft));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(draft: LedgerDraft): Promise<LedgerEntry> {
    if (this.closed) throw new LedgerClosedError();
    if (this.producer === undefined || this.signer === undefined) throw new LedgerReadOnlyError();
    if (this.fenced !== undefined) throw this.fenced;
    if (this.stale) {
      const all = await this.readAll();
      this.headEntry = all[all.length - 1];
      this.stale = false;
    }
    const entry = nextEntry(this.headEntry, draft, this.signer);
    let tx: Transaction | undefined;
    try {
      tx = await this.producer.transaction();
      const meta = await tx.send({ topic: this.topic, acks: -1, messages: [{ key: String(entry.seq), value: JSON.stringify(entry) }] });
      await tx.commit();
      this.lastWritten = Math.max(this.lastWritten, Number(meta[0]?.baseOffset ?? -1));
    } catch (err) {
      if (isFencing(err)) {
        this.fenced = new LedgerFencedError(this.transactionalId, err);
        this.log.error({ err, seq: entry.seq }, "ledger writer fenced by another writer");
        throw this.fenced;
      }
      await tx?.abort().catch(() => undefined);
      // The commit may have reached the broker before the error; the log decides.
      let recorded: LedgerEntry[] | undefined;
      try {
        recorded = await this.readAll();
      } catch {
        this.stale = true;
        throw new DependencyError("kafka", `ledger entry seq ${entry.seq} (${entry.type} by ${entry.actor}) may or may not be recorded in ${this.topic} (${(err as Error).message}); check with readAll() once Kafka is reachable before appending it again`, { cause: err });
      }
      const last = recorded[recorded.length - 1];
      if (last?.hash === entry.hash) {
        this.headEntry = entry;
        return entry;
      }
      this.headEntry = last;
      throw new DependencyError("kafka", `ledger entry seq ${entry.seq} (${entry.type} by ${entry.actor}) was not recorded in ${this.topic} (${(err as Error).message}); retry the append`, { cause: err });
    }
    this.headEntry = entry;
    return entry;
  }

  /** Every committed entry, in log order, read from the topic (not from memory). */
  async readAll(): Promise<LedgerEntry[]> {
    if (this.closed) throw new LedgerClosedError();
    // A commit returns before the broker has written its marker, so the stable offset can lag our own last
    // append for a moment; wait for it, so that a store always reads its own writes.
    const deadline = Date.now() + this.readTimeoutMs;
    for (;;) {
      let end: number;
      let low: number;
      try {
        const offsets = await this.admin.fetchTopicOffsets(this.topic); // read_committed: the last stable offset
        const p = offsets.find((o) => o.partition === 0);
        end = Number(p?.offset ?? 0);
        low = Number(p?.low ?? 0);
      } catch (err) {
        throw new DependencyError("kafka", `cannot read the end offset of ${this.topic} (${(err as Error).message}); retry`, { cause: err });
      }
      if (end <= this.lastWritten && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (low > 0) this.log.warn({ topic: this.topic, low }, "ledger topic no longer starts at offset 0: entries were deleted");
      return end <= low ? [] : this.readUntil(end);
    }
  }

  private async readUntil(end: number): Promise<LedgerEntry[]> {
    const groupId = ownGroup(this.config, `ledger-reader-${randomUUID()}`);
    const consumer = this.kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 250 });
    const found: LedgerEntry[] = [];
    let bad: LedgerIntegrityError | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const done = new Promise<void>((resolve, reject) => {
        // Emitted for every fetched batch, also one holding only transaction markers; lastOffset counts them.
        consumer.on(consumer.events.END_BATCH_PROCESS, (ev) => {
          if (Number(ev.payload.lastOffset) >= end - 1) resolve();
        });
        consumer.on(consumer.events.CRASH, (ev) => reject(ev.payload.error));
        timer = setTimeout(
          () => reject(new DependencyError("kafka", `reading ${this.topic} up to offset ${end} did not finish within ${this.readTimeoutMs} ms; check the brokers and retry`)),
          this.readTimeoutMs,
        );
      });
      await consumer.connect();
      await subscribeWhenReady(consumer, { topic: this.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          const offset = Number(message.offset);
          if (offset >= end || bad !== undefined) return;
          try {
            found.push(JSON.parse(String(message.value)) as LedgerEntry);
          } catch (err) {
            bad = new LedgerIntegrityError(this.topic, [{ index: found.length, seq: undefined, kind: "malformed", message: `the record at offset ${offset} (key ${String(message.key)}) is not JSON (${(err as Error).message})` }]);
          }
        },
      });
      await done;
    } catch (err) {
      if (err instanceof PxError) throw err;
      throw new DependencyError("kafka", `reading ${this.topic} failed (${(err as Error).message}); retry`, { cause: err });
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
    if (bad !== undefined) throw bad;
    return found;
  }

  /** Waits for queued appends, then disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}
