/**
 * Dry run: the last N raw events (across every party's ingress topic) decided under the policy in force and under the
 * proposal, counted per party × field × action: "taobao stops receiving pickupCode on 1,234 of 10,000
 * LockerEvent events".
 */
import { randomUUID } from "node:crypto";
import type { Kafka } from "kafkajs";
import { EVENT_TYPES, ownGroup, RegistryHttp, sourceOf, subscribeWhenReady, topics, whenReady, type Config, type EventType } from "@parcel-exchange/shared";
import { SchemaCatalog, type Decision, type DecisionEngine } from "@parcel-exchange/decision";
import type { DryRunReport } from "./api.js";
import { decide, DELIVERY, type Case } from "./impact.js";

export interface Sampled {
  readonly type: EventType;
  readonly attrs: Case;
}

/** Reads up to `limit` of the most recent raw events, spread over every partition of the ingress topics. */
export async function sampleRecent(kafka: Kafka, config: Config, limit: number, timeoutMs = 20_000): Promise<Sampled[]> {
  const t = topics(config.topicPrefix);
  const admin = kafka.admin();
  await admin.connect();
  const plan: { topic: string; partition: number; from: bigint; to: bigint }[] = [];
  try {
    const ingress = (await admin.listTopics()).filter((topic) => t.parseIngress(topic) !== undefined).sort();
    for (const topic of ingress) {
      for (const p of await whenReady(`offsets of ${topic}`, () => admin.fetchTopicOffsets(topic))) plan.push({ topic, partition: p.partition, from: BigInt(p.low), to: BigInt(p.high) });
    }
  } finally {
    await admin.disconnect();
  }
  const nonEmpty = plan.filter((p) => p.to > p.from);
  if (nonEmpty.length === 0) return [];
  const per = BigInt(Math.ceil(limit / nonEmpty.length));
  for (const p of nonEmpty) if (p.to - p.from > per) p.from = p.to - per;
  const catalog = new SchemaCatalog(new RegistryHttp(config));
  const out: Sampled[] = [];
  const done = new Set<string>();
  const consumer = kafka.consumer({ groupId: ownGroup(config, `dryrun-${randomUUID()}`), maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await subscribeWhenReady(consumer, { topics: [...new Set(nonEmpty.map((p) => p.topic))], fromBeginning: true });
    const pending = new Map(nonEmpty.map((p) => [`${p.topic}/${p.partition}`, p]));
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const key = `${batch.topic}/${batch.partition}`;
        const p = pending.get(key);
        if (!p || done.has(key)) return;
        const ids = batch.messages.filter((m) => m.value && m.value.length >= 5 && m.value[0] === 0).map((m) => m.value!.readInt32BE(1));
        await catalog.prefetch(ids);
        const ingress = t.parseIngress(batch.topic);
        for (const m of batch.messages) {
          if (BigInt(m.offset) < p.from || BigInt(m.offset) >= p.to) continue;
          const v = m.value;
          if (!v || v.length < 5 || v[0] !== 0) continue;
          const e = catalog.get(v.readInt32BE(1));
          if (!e?.ok) continue;
          try {
            const ev = e.info.type.decode(v, 5).value as Record<string, unknown>;
            const type = e.info.eventType;
            const source = String(sourceOf(type, ev));
            // What the router dead-letters (another type than the topic's, a source other than its party) is not routed.
            if (type !== ingress?.type || source !== ingress.party) continue;
            out.push({ type, attrs: { type, source, platform: String(ev.platform), courier: String(ev.courier), locker: (ev.locker as string | null) ?? null } });
          } catch {
            /* undecodable records are the router's dead letters, not part of the sample */
          }
        }
        if (BigInt(batch.lastOffset()) + 1n >= p.to) {
          done.add(key);
          if (done.size === pending.size) finish();
        }
      },
    });
    for (const p of nonEmpty) consumer.seek({ topic: p.topic, partition: p.partition, offset: p.from.toString() });
    await Promise.race([finished, new Promise((r) => setTimeout(r, timeoutMs))]);
  } finally {
    await consumer.disconnect();
  }
  return out.slice(-limit);
}

export function dryRun(current: DecisionEngine, proposed: DecisionEngine, sample: readonly Sampled[]): DryRunReport {
  const recipients = [...new Set([...Object.keys(current.bundle.data.parties), ...Object.keys(proposed.bundle.data.parties)])].sort();
  const byType: Record<string, number> = Object.fromEntries(EVENT_TYPES.map((t) => [t, 0]));
  const cache = new Map<string, [Decision | undefined, Decision | undefined]>();
  const counts = new Map<string, { party: string; eventType: EventType; field: string; from: string; to: string; events: number }>();
  for (const s of sample) {
    byType[s.type]!++;
    for (const r of recipients) {
      if (r === s.attrs.source) continue;
      const k = `${s.attrs.type}|${s.attrs.source}|${s.attrs.platform}|${s.attrs.courier}|${s.attrs.locker}|${r}`;
      let pair = cache.get(k);
      if (!pair) {
        pair = [current.bundle.data.parties[r] ? decide(current, s.attrs, r) : undefined, proposed.bundle.data.parties[r] ? decide(proposed, s.attrs, r) : undefined];
        cache.set(k, pair);
      }
      const [a, b] = pair;
      const add = (field: string, from: string, to: string) => {
        const ck = `${r}|${s.type}|${field}|${from}|${to}`;
        const c = counts.get(ck);
        if (c) c.events++;
        else counts.set(ck, { party: r, eventType: s.type, field, from, to, events: 1 });
      };
      const da = a?.deliver ?? false;
      const db = b?.deliver ?? false;
      if (da !== db) add(DELIVERY, da ? "deliver" : "none", db ? "deliver" : "none");
      if (!da || !db) continue;
      for (const [field, fa] of Object.entries(a!.fields)) {
        const fb = b!.fields[field]?.action ?? "drop";
        if (fa.action !== fb) add(field, fa.action, fb);
      }
    }
  }
  const lines = [...counts.values()]
    .sort((x, y) => y.events - x.events || x.party.localeCompare(y.party))
    .map((c) => {
      const of = byType[c.eventType] ?? 0;
      const n = `${c.events.toLocaleString("en-US")} of ${of.toLocaleString("en-US")} ${c.eventType} events`;
      const text =
        c.field === DELIVERY
          ? c.to === "none"
            ? `${c.party} stops receiving ${n}`
            : `${c.party} starts receiving ${n}`
          : c.from === "keep" && c.to === "drop"
            ? `${c.party} stops receiving ${c.field} on ${n}`
            : c.from === "keep"
            ? `${c.party} receives ${c.field} as ${c.to} instead of in full on ${n}`
            : c.to === "keep"
              ? `${c.party} starts receiving ${c.field} in full (was ${c.from}) on ${n}`
              : `${c.party} gets ${c.field} as ${c.to} instead of ${c.from} on ${n}`;
      return { ...c, of, text };
    });
  return { sampled: sample.length, byType, lines };
}
