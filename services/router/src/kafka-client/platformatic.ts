/**
 * The router's Kafka client on @platformatic/kafka 1.35.0 (PX_KAFKA_CLIENT=platformatic). Consuming and the
 * per-partition transactional producers use it; the control plane (admin, committed offsets, the plain
 * producer) stays on kafkajs. Its TxnOffsetCommit carries the group generation (KIP-447), on top of the
 * per-partition transactional id fencing that both clients share.
 *
 * 1.35 quirks handled here: a produce call's share for one partition goes out as one record batch, so calls are
 * capped well under the broker's 1 MiB; the message stream fetches only while a 'readable' listener is attached;
 * after a rebalance the stream re-fetches from the committed offsets while older fetches may still sit in its
 * buffer, so records fetched under an earlier generation, of partitions not assigned, or below what this member
 * already committed are dropped.
 */
import { compatibilityPartitioner, Consumer, MessagesStreamFallbackModes, MessagesStreamModes, Producer, type Message, type MessagesStream } from "@platformatic/kafka";
import { platformaticConnection } from "@parcel-exchange/shared";
import { sendChunks } from "./chunks.js";
import { KafkajsControlPlane } from "./kafkajs.js";
import type { BatchHandler, InRecord, OutRecord, PartitionBatch, PartitionSink, PartitionTransaction, RecordHeaders, RouterKafka, TopicMessages } from "./types.js";

type Part = string | Buffer;
type In = Message<Buffer, Buffer, Buffer, Buffer>;
type TxProducer = Producer<Part, Buffer, Part, Part>;

/** Records and bytes per produce call (see the module comment). */
const SEND_CHUNK = 2000;
const SEND_BYTES = 512 * 1024;
/** Records read from the stream per cycle, and its buffer. */
const READ_MAX = 5000;

const toBuffer = (v?: Part | null): Buffer | undefined => (v === undefined || v === null ? undefined : typeof v === "string" ? Buffer.from(v, "utf8") : v);
const partLength = (v: Part | undefined): number => (v === undefined ? 0 : typeof v === "string" ? Buffer.byteLength(v) : v.length);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function outHeaders(h: RecordHeaders): Map<Part, Part> {
  const m = new Map<Part, Part>();
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) m.set(Buffer.from(k), x); // distinct Buffer keys: repeated headers survive
    else m.set(k, v);
  }
  return m;
}

function recordBytes(r: OutRecord): number {
  let n = 64 + partLength(r.key ?? undefined) + r.value.length;
  for (const [k, v] of Object.entries(r.headers)) for (const x of Array.isArray(v) ? v : [v]) n += k.length + partLength(x) + 8;
  return n;
}

function inRecord(m: In): InRecord {
  const headers: RecordHeaders = {};
  for (const [k, v] of m.headers) {
    const key = k.toString("utf8");
    const prev = headers[key];
    headers[key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { offset: m.offset.toString(), timestamp: m.timestamp.toString(), key: m.key ?? null, value: m.value ?? null, headers };
}

/** Exponential back-off from 100 ms to 2 s; 30 attempts cover a coordinator aborting a fenced transaction. */
const retry = { retries: 30, retryDelay: (_c: unknown, _op: string, attempt: number) => Math.min(2000, 100 * 2 ** Math.min(attempt, 5)) };

class PlatformaticSink implements PartitionSink {
  constructor(
    private readonly producer: TxProducer,
    private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    private readonly topic: string,
    private readonly partition: number,
  ) {}

  async begin(): Promise<PartitionTransaction> {
    const tx = await this.producer.beginTransaction();
    const { consumer, topic, partition } = this;
    return {
      async send(topicMessages: readonly TopicMessages[]) {
        for (const chunk of sendChunks(topicMessages, SEND_CHUNK, SEND_BYTES, recordBytes)) {
          const messages = chunk.flatMap(({ topic: t, messages: ms }) => ms.map((r) => ({ topic: t, key: r.key ?? undefined, value: r.value, headers: outHeaders(r.headers) })));
          await tx.send({ messages });
        }
      },
      async commit(nextOffset: string) {
        await tx.addConsumer(consumer);
        // addOffset commits message.offset + 1 under the consumer's current group generation and member id.
        const at = { topic, partition, offset: BigInt(nextOffset) - 1n, metadata: { consumer: { groupId: consumer.groupId, generationId: consumer.generationId, memberId: consumer.memberId, coordinatorId: consumer.coordinatorId } } };
        await tx.addOffset(at as unknown as In);
        await tx.commit();
      },
      abort: () => tx.abort(),
    };
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

export class PlatformaticRouterKafka extends KafkajsControlPlane implements RouterKafka {
  readonly name = "platformatic" as const;
  private consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private loop: Promise<void> | undefined;
  private closing = false;
  private changed = false;
  private wake: (() => void) | undefined;
  /** topic\0partition → the offset this member committed last (records below it are old copies). */
  private readonly done = new Map<string, bigint>();
  /** The topics consumed; resubscribe() changes them. */
  private topics: string[] = [];
  /** A resubscribe() the loop has yet to carry out (between two reads, never during a batch). */
  private swap: { resolve: () => void; reject: (err: unknown) => void } | undefined;

  async openSink(topic: string, partition: number): Promise<PartitionSink> {
    const producer: TxProducer = new Producer<Part, Buffer, Part, Part>({
      ...platformaticConnection(this.config),
      ...retry,
      idempotent: true,
      acks: -1,
      partitioner: compatibilityPartitioner,
      serializers: { key: toBuffer, headerKey: toBuffer, headerValue: toBuffer },
      transactionalId: `${this.config.router.groupId}.${topic}.${partition}`,
      // 1.35 sends InitProducerId with producer id 0 / epoch 0 unless told otherwise; for a transactional id that
      // an earlier process holds, the broker reads that as a stale epoch and answers PRODUCER_FENCED. -1 / -1 asks
      // for the plain "new producer" initialisation (which fences the earlier holder instead).
      producerId: -1n,
      producerEpoch: -1,
    });
    try {
      // The first transaction initialises the transactional id (InitProducerId), which fences an earlier holder
      // and aborts its open transaction. Nothing is in it yet, so it is dropped locally rather than ended.
      await (await producer.beginTransaction()).cancel();
    } catch (err) {
      await producer.close().catch(() => undefined);
      throw err;
    }
    return new PlatformaticSink(producer, this.consumer!, topic, partition);
  }

  private assigned(topic: string, partition: number): boolean {
    return this.consumer?.assignments?.some((a) => a.topic === topic && a.partitions.includes(partition)) ?? false;
  }

  async consume(topics: readonly string[], handler: BatchHandler): Promise<void> {
    const r = this.config.router;
    const group = { sessionTimeout: r.sessionTimeoutMs, heartbeatInterval: Math.min(3000, r.sessionTimeoutMs / 3) };
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({ ...platformaticConnection(this.config), ...retry, groupId: r.groupId, autocommit: false, maxWaitTime: r.fetchMaxWaitMs, highWaterMark: READ_MAX, ...group });
    this.consumer = consumer;
    consumer.on("consumer:group:join", () => {
      this.changed = true;
      this.wake?.();
    });
    this.topics = [...topics];
    const open = () => consumer.consume({ topics: [...this.topics], mode: MessagesStreamModes.COMMITTED, fallbackMode: MessagesStreamFallbackModes.EARLIEST, autocommit: false, highWaterMark: READ_MAX, ...group });
    try {
      this.stream = await open();
    } catch (err) {
      // The router may call consume again (it retries when the ingress topics are listed next): leave nothing behind.
      await consumer.close().catch(() => undefined);
      this.consumer = undefined;
      throw err;
    }
    this.loop = (async () => {
      while (!this.closing) {
        const error = await this.drain(this.stream!, handler);
        if (this.closing) break;
        const swap = this.swap;
        if (swap !== undefined) {
          // A new stream over the new topic list first (its new topics make the member re-join the group), then
          // the old one closed: the topics it shares with the new one stay subscribed throughout.
          this.swap = undefined;
          try {
            const next = await open();
            await this.stream!.close().catch(() => undefined);
            this.stream = next;
            this.changed = true;
            swap.resolve();
            continue;
          } catch (err) {
            swap.reject(err);
            if (error === undefined) continue; // the old stream still works; a failed one is reopened below
          }
        }
        this.log.error({ err: error, client: this.name }, "message stream failed; reopening it");
        await this.stream!.close().catch(() => undefined);
        await sleep(1000);
        this.changed = true;
        this.stream = await open().catch((err: unknown) => {
          this.log.error({ err }, "could not reopen the message stream");
          return this.stream!;
        });
      }
    })();
  }

  /** Runs until the stream fails (resolves with the error) or consuming stops. */
  private async drain(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, handler: BatchHandler): Promise<unknown> {
    let failure: unknown;
    const onError = (err: unknown) => {
      failure ??= err;
      this.wake?.();
    };
    // The 'readable' listener stays for the whole loop: removing the last one stops the stream's fetching.
    const onReadable = () => this.wake?.();
    stream.on("error", onError);
    stream.on("readable", onReadable);
    try {
      while (!this.closing && failure === undefined && this.swap === undefined) {
        if (this.changed) {
          this.changed = false;
          for (const k of [...this.done.keys()]) {
            const [t, p] = k.split("\u0000");
            if (!this.assigned(t!, Number(p))) this.done.delete(k);
          }
          for (const l of this.listeners) l();
        }
        const read: In[] = [];
        let m: In | null;
        while (read.length < READ_MAX && (m = stream.read() as In | null) !== null) read.push(m);
        if (read.length === 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 200);
            this.wake = () => {
              clearTimeout(timer);
              this.wake = undefined;
              resolve();
            };
          });
          continue;
        }
        await this.handleAll(read, handler);
      }
      return failure;
    } finally {
      stream.off("error", onError);
      stream.off("readable", onReadable);
    }
  }

  private async handleAll(read: In[], handler: BatchHandler): Promise<void> {
    const consumer = this.consumer!;
    const generation = consumer.generationId;
    const byPartition = new Map<string, { topic: string; partition: number; messages: InRecord[]; last: bigint }>();
    for (const m of read) {
      const meta = m.metadata as { consumer?: { generationId?: number } };
      if (meta.consumer?.generationId !== generation || !this.assigned(m.topic, m.partition)) continue;
      const k = `${m.topic}\u0000${m.partition}`;
      if (m.offset < (this.done.get(k) ?? -1n)) continue;
      let g = byPartition.get(k);
      if (g === undefined) byPartition.set(k, (g = { topic: m.topic, partition: m.partition, messages: [], last: m.offset }));
      g.messages.push(inRecord(m));
      g.last = m.offset;
    }
    const groups = [...byPartition.entries()];
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const [k, g] = groups[next++]!;
        const batch: PartitionBatch = { topic: g.topic, partition: g.partition, messages: g.messages, isStale: () => this.closing || consumer.generationId !== generation || !this.assigned(g.topic, g.partition) };
        for (let attempt = 0; ; attempt++) {
          if (batch.isStale()) {
            this.done.delete(k); // not ours any more (or the stream re-fetches it): no memory of it
            break;
          }
          try {
            await handler(batch);
            this.done.set(k, g.last + 1n);
            break;
          } catch (err) {
            this.log.warn({ err, topic: g.topic, partition: g.partition, attempt }, "batch failed; retrying it");
            await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.router.partitionsConcurrently, groups.length) }, worker));
  }

  async resubscribe(topics: readonly string[]): Promise<void> {
    if (this.loop === undefined) throw new Error("resubscribe before consume");
    if (this.closing) return;
    const previous = this.topics;
    this.topics = [...topics];
    try {
      await new Promise<void>((resolve, reject) => {
        this.swap = { resolve, reject };
        this.wake?.();
      });
    } catch (err) {
      this.topics = previous;
      throw err;
    }
  }

  /** The message stream is reopened on every failure (see consume), so nothing here is fatal by itself. */
  onFatal(_fn: (err: Error) => void): void {}

  async stopConsuming(): Promise<void> {
    this.closing = true;
    this.swap?.resolve();
    this.swap = undefined;
    this.wake?.();
    await this.loop?.catch(() => undefined);
    await this.stream?.close().catch(() => undefined);
    await this.consumer?.close().catch(() => undefined);
  }
}
