/**
 * Records per-minute delivery counts (party × data class) in the ledger. Routers report each finished minute
 * to the delivery-counts topic; this sums the reports of every instance and, once a minute is past the grace
 * period for late reports, appends one `deliveries.minute` entry for it. Minutes already in the ledger are
 * never recorded twice (the topic is re-read from the start on every start).
 */
import { randomUUID } from "node:crypto";
import type { Consumer, Kafka } from "kafkajs";
import { ensureTopics, ownGroup, subscribeWhenReady, topics, type Config, type Logger } from "@parcel-exchange/shared";
import type { LedgerStore } from "@parcel-exchange/ledger";

interface Report {
  minute: string;
  instance: string;
  counts: { party: string; dataClass: string; count: number }[];
}

export class DeliveryCountsRecorder {
  private readonly pending = new Map<string, Map<string, number>>();
  private readonly recorded = new Set<string>();
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    private readonly ledger: LedgerStore,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    for (const e of await this.ledger.readAll()) if (e.type === "deliveries.minute") this.recorded.add(String((e.body as { minute: string }).minute));
    const topic = topics(this.config.topicPrefix).deliveryCounts;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, this.config, [{ topic, partitions: 1 }]);
    } finally {
      await admin.disconnect();
    }
    this.consumer = this.kafka.consumer({ groupId: ownGroup(this.config, `counts-${randomUUID()}`), maxWaitTimeInMs: 200 });
    await this.consumer.connect();
    await subscribeWhenReady(this.consumer, { topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        try {
          this.add(JSON.parse(String(message.value)) as Report);
        } catch (err) {
          this.log.warn({ err, offset: message.offset }, "unreadable delivery-count report skipped");
        }
      },
    });
  }

  add(r: Report): void {
    if (this.recorded.has(r.minute)) return;
    let m = this.pending.get(r.minute);
    if (!m) this.pending.set(r.minute, (m = new Map()));
    for (const c of r.counts) {
      const k = `${c.party}\u0000${c.dataClass}`;
      m.set(k, (m.get(k) ?? 0) + c.count);
    }
  }

  /** Appends the minutes that ended more than the grace period ago. Returns the minutes recorded. */
  async appendDue(): Promise<string[]> {
    const done: string[] = [];
    for (const minute of [...this.pending.keys()].sort()) {
      if (Date.parse(minute) + 60_000 + this.config.policyService.countsGraceMs > this.now()) continue;
      const counts = [...this.pending.get(minute)!]
        .map(([k, count]) => {
          const [party, dataClass] = k.split("\u0000");
          return { party: party!, dataClass: dataClass!, count };
        })
        .sort((a, b) => a.party.localeCompare(b.party) || a.dataClass.localeCompare(b.dataClass));
      await this.ledger.append({ type: "deliveries.minute", actor: "policy-service", body: { minute, counts } });
      this.pending.delete(minute);
      this.recorded.add(minute);
      done.push(minute);
    }
    return done;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
