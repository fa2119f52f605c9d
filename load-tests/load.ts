/**
 * Load generator: realistic parcel lifecycles published through the party SDK at a target rate, with a share
 * of bad input, against whatever the configuration points at (the local stack by default).
 *
 *   npm run load -- --scenario steady|peak|policy-change [--rate 2000] [--duration-s 30] [--bad-share 0.01]
 *                   [--seed 1] [--key <regulator API key, for policy-change>]
 *
 *   steady         the target rate for the whole duration
 *   peak           the target rate, with the middle third at 5× (a Singles' Day evening)
 *   policy-change  steady, and halfway through a regulator changes a contract through the policy service
 *                  (PX_POLICY_URL) with immediate effect
 *
 * Progress goes to stderr every second; a summary (sent, bad, achieved rate) to stdout at the end. Sends only
 * to the configured brokers and policy service, and stops by itself after the duration.
 */
import { parseArgs } from "node:util";
import { PartyPublisher } from "@parcel-exchange/sdk";
import { createKafka, createLogger, idempotentProducer, loadConfig, topics } from "@parcel-exchange/shared";
import { COURIERS, generateLoad, publisherOf, PUBLISHERS } from "./generate.js";
import { runBenchmark, sleep } from "./kit.js";

const { values: args } = parseArgs({
  options: {
    scenario: { type: "string", default: "steady" },
    rate: { type: "string", default: "2000" },
    "duration-s": { type: "string", default: "30" },
    "bad-share": { type: "string", default: "0.01" },
    seed: { type: "string", default: "1" },
    key: { type: "string" },
  },
  strict: true,
});
const SCENARIO = String(args.scenario);
const RATE = Number(args.rate);
const DURATION = Number(args["duration-s"]) * 1000;
const BAD = Number(args["bad-share"]);
if (!["steady", "peak", "policy-change"].includes(SCENARIO) || !(RATE > 0) || !(DURATION > 0) || !(BAD >= 0 && BAD < 1)) {
  console.error("usage: load --scenario steady|peak|policy-change --rate N --duration-s N --bad-share 0..1");
  process.exit(2);
}
if (SCENARIO === "policy-change" && !args.key) {
  console.error("--scenario policy-change needs --key with a regulator's API key for the policy service");
  process.exit(2);
}

/** Target events/s at time t (ms since start). */
const rateAt = (t: number): number => (SCENARIO === "peak" && t > DURATION / 3 && t < (2 * DURATION) / 3 ? RATE * 5 : RATE);

async function changePolicy(url: string, key: string): Promise<string> {
  const h = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const history = (await (await fetch(`${url}/v1/policy/history`, { headers: h })).json()) as { version: string }[];
  const stamp = `${Date.now()}`;
  const res = await fetch(`${url}/v1/proposals`, {
    method: "POST",
    headers: h,
    // JD and ZTO end their contract: a reduction (ZTO stops receiving JD's orders), in force at once.
    body: JSON.stringify({ description: `load test change ${stamp} (after ${history.length} versions)`, change: { contracts: { "jd--zto": null } } }),
  });
  const p = (await res.json()) as { id?: string; error?: string };
  if (!res.ok || !p.id) throw new Error(`proposal refused: ${res.status} ${p.error ?? ""}`);
  const a = await fetch(`${url}/v1/proposals/${p.id}/approve`, { method: "POST", headers: h, body: JSON.stringify({ immediate: true }) });
  const done = (await a.json()) as { publishedVersion?: string; error?: string };
  if (!a.ok) throw new Error(`approval refused: ${a.status} ${done.error ?? ""}`);
  return done.publishedVersion ?? "?";
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger("load", config.logLevel === "info" ? "warn" : config.logLevel);
  const t = topics(config.topicPrefix);
  const maxEvents = Math.ceil((RATE * 5 * DURATION) / 1000) + 1000;
  const load = generateLoad({ events: maxEvents, seed: Number(args.seed), startTime: Date.now() });
  const pubs = new Map<string, PartyPublisher>();
  for (const p of PUBLISHERS) pubs.set(p, await PartyPublisher.connect({ party: p, config, logger: log }));
  const raw = idempotentProducer(createKafka(config, log));
  await raw.connect();
  const badKinds = [Buffer.from("not avro at all"), Buffer.from([0, 0x7f, 0xff, 0xff, 0xfe, 1, 2, 3]), Buffer.from([0, 0, 0, 0, 1])];

  let sent = 0;
  let bad = 0;
  let credit = 0;
  let changed: string | undefined;
  const t0 = performance.now();
  let lastTick = t0;
  let lastLog = t0;
  while (performance.now() - t0 < DURATION && sent < load.all.length) {
    await sleep(10);
    const now = performance.now();
    credit += (rateAt(now - t0) * (now - lastTick)) / 1000;
    lastTick = now;
    const n = Math.min(Math.floor(credit), load.all.length - sent);
    if (n <= 0) continue;
    credit -= n;
    const slice = load.all.slice(sent, sent + n);
    const byParty = new Map<string, typeof slice>();
    for (const e of slice) byParty.set(publisherOf(e), [...(byParty.get(publisherOf(e)) ?? []), e]);
    const nBad = Math.floor(n * BAD + Math.random());
    await Promise.all([
      ...[...byParty].map(([p, list]) => pubs.get(p)!.publishMany(list)),
      nBad > 0 ? raw.send({ topic: t.ingress(COURIERS[0], "TrackingEvent"), acks: -1, messages: Array.from({ length: nBad }, (_, i) => ({ key: `bad-${sent + i}`, value: badKinds[i % badKinds.length]! })) }) : Promise.resolve(),
    ]);
    sent += n;
    bad += nBad;
    if (SCENARIO === "policy-change" && changed === undefined && now - t0 > DURATION / 2) {
      changed = "pending";
      changePolicy(config.policyService.url, args.key!).then(
        (v) => {
          changed = v;
          process.stderr.write(`policy changed: ${v} in force\n`);
        },
        (err: unknown) => {
          changed = `failed: ${(err as Error).message}`;
          process.stderr.write(`policy change failed: ${(err as Error).message}\n`);
        },
      );
    }
    if (now - lastLog >= 1000) {
      lastLog = now;
      process.stderr.write(`${((now - t0) / 1000).toFixed(0)}s  sent ${sent}  bad ${bad}  target ${rateAt(now - t0)}/s\n`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all([...pubs.values()].map((p) => p.disconnect()));
  await raw.disconnect();
  process.stdout.write(`${JSON.stringify({ scenario: SCENARIO, sent, bad, seconds: Number(seconds.toFixed(1)), achievedPerSec: Math.round(sent / seconds), policyChange: changed ?? null })}\n`);
  process.exitCode = changed?.startsWith("failed") ? 1 : 0;
}

runBenchmark("load", main, DURATION + 5 * 60_000);
