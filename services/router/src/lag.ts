/**
 * The router group's consumer lag (px_router_consumer_lag{topic, partition}): every `intervalMs`, per ingress
 * partition the router consumes, the high watermark minus the group's committed offset, read with a kafkajs
 * admin. A measurement that fails is logged at debug and tried again at the next tick; it never stops routing.
 *
 * Every router instance reports the whole group's lag (all partitions of its topics, not only those assigned
 * to it), so aggregate across instances with max, not sum. The high watermark counts transaction markers: a
 * partition written by transactional producers shows a lag of a record or so when everything is routed.
 */
import type { Admin, Kafka } from "kafkajs";
import type { Logger } from "@parcel-exchange/shared";
import type { RouterMetrics } from "./metrics.js";

export interface Watermarks {
  readonly partition: number;
  /** The offset the next record will get (decimal string, as kafkajs gives it). */
  readonly high: string;
  /** The first offset still in the log. */
  readonly low: string;
}

export interface Committed {
  readonly partition: number;
  /** The group's committed offset; "-1" when it has committed none. */
  readonly offset: string;
}

/**
 * Records of a partition the group has yet to route. With no committed offset (-1) the router starts from the
 * beginning (it subscribes `fromBeginning`), so the lag is the high watermark minus the low watermark — every
 * record still in the log — not the high watermark; likewise when the committed offset has fallen below the
 * low watermark (retention deleted records the group never read). Never negative.
 */
export function partitionLag(high: bigint, low: bigint, committed: bigint): bigint {
  const from = committed < low ? low : committed;
  return high > from ? high - from : 0n;
}

/** The lag of each partition of a topic, from its watermarks and the group's committed offsets. */
export function topicLag(watermarks: readonly Watermarks[], committed: readonly Committed[]): { partition: number; lag: number }[] {
  const byPartition = new Map(committed.map((c) => [c.partition, BigInt(c.offset)]));
  return watermarks
    .map((w) => ({ partition: w.partition, lag: Number(partitionLag(BigInt(w.high), BigInt(w.low), byPartition.get(w.partition) ?? -1n)) }))
    .sort((a, b) => a.partition - b.partition);
}

export interface LagDeps {
  readonly kafka: Kafka;
  readonly groupId: string;
  /** The ingress topics the router consumes, at the time of each measurement. */
  readonly topics: () => Iterable<string>;
  readonly gauge: RouterMetrics["consumerLag"];
  readonly log: Logger;
  readonly intervalMs: number;
}

export class LagMonitor {
  private admin: Admin | undefined;
  private timer: NodeJS.Timeout | undefined;
  private measuring: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly d: LagDeps) {}

  /** Measures now and then every `intervalMs`. */
  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.d.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.measuring !== undefined || this.stopped) return;
    this.measuring = this.measure()
      .catch((err: unknown) => this.d.log.debug({ err }, `consumer lag not measured; trying again in ${this.d.intervalMs} ms`))
      .finally(() => (this.measuring = undefined));
  }

  /** One measurement: replaces every px_router_consumer_lag series at once, or changes nothing when it fails. */
  async measure(): Promise<void> {
    const topics = [...this.d.topics()].sort();
    if (topics.length === 0) return;
    if (this.admin === undefined) {
      const admin = this.d.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const admin = this.admin;
    const watermarks = await Promise.all(topics.map(async (topic) => ({ topic, partitions: await admin.fetchTopicOffsets(topic) })));
    const committed = new Map((await admin.fetchOffsets({ groupId: this.d.groupId, topics })).map((t) => [t.topic, t.partitions]));
    if (this.stopped) return;
    this.d.gauge.reset();
    for (const { topic, partitions } of watermarks) {
      for (const { partition, lag } of topicLag(partitions, committed.get(topic) ?? [])) this.d.gauge.set({ topic, partition: String(partition) }, lag);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.measuring;
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = undefined;
  }
}
