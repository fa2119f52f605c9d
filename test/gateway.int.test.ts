/**
 * The HTTP gateway against the real stack: a router, the policy service and the gateway, with webhook receivers
 * on loopback that verify every delivery with the `standardwebhooks` library (a verifier nobody here wrote) and
 * check each payload field by field against the expectation table (test/fixtures.ts), not against the router.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { createKafka, createLogger, topics, type Config } from "@parcel-exchange/shared";
import { startGateway, type RunningGateway } from "@parcel-exchange/gateway";
import { EXPECTED, L1, L2, O1, T1, T2 } from "./fixtures.js";
import { startPolicyService, startRouter, type RunningPolicyService, type RunningRouter } from "./harness.js";
import { ROOT, testConfig, until } from "./helpers.js";

const KEYS = { hivebox: "px-dev-key-hive-box", taobao: "px-dev-key-taobao", sf: "px-dev-key-sf-express", jd: "px-dev-key-jd", zto: "px-dev-key-zto", viewer: "px-dev-key-viewer", regulator: "px-dev-key-regulator-spb" } as const;
const GATEWAY_ENV = {
  PX_WEBHOOK_ALLOW_HTTP: "true",
  PX_WEBHOOK_ALLOW_PRIVATE: "true",
  PX_WEBHOOK_SCHEDULE_SCALE: "0.0001",
  PX_GATEWAY_POLICY_KEY: "px-dev-key-gateway",
  PX_GATEWAY_ENDPOINTS_REFRESH_MS: "200",
  PX_GATEWAY_RATE_PER_SEC: "100",
  PX_GATEWAY_RATE_BURST: "200",
  PX_GATEWAY_MAX_BATCH: "300",
  PX_GATEWAY_MAX_BODY_BYTES: "200000",
  PX_GATEWAY_PORT: "0",
} as const;
const base0 = testConfig("gw", GATEWAY_ENV);
let config: Config;
let policy: RunningPolicyService;
let router: RunningRouter;
let gw: RunningGateway;

/** A webhook receiver: verifies each request with standardwebhooks, answers from a script, dedupes by webhook-id. */
class Receiver {
  readonly attempts: { id: string; status: number }[] = [];
  readonly accepted = new Map<string, any>();
  readonly rejected: string[] = [];
  server!: Server;
  url = "";
  secret = "";
  constructor(readonly answer: (n: number, id: string) => number | Promise<number> = () => 200) {}

  async listen(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void (async () => {
          const body = Buffer.concat(chunks).toString("utf8");
          const id = String(req.headers["webhook-id"]);
          let payload: any;
          try {
            payload = new Webhook(this.secret).verify(body, req.headers as Record<string, string>);
          } catch (err) {
            this.rejected.push(`${id}: ${(err as Error).message}`);
            res.writeHead(400).end();
            return;
          }
          const status = await this.answer(this.attempts.filter((a) => a.id === id).length, id);
          this.attempts.push({ id, status });
          if (status >= 200 && status < 300 && !this.accepted.has(id)) this.accepted.set(id, payload);
          res.writeHead(status).end();
        })();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  payloads(): any[] {
    return [...this.accepted.values()];
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

async function call(url: string, key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text, headers: res.headers };
}

const gwCall = (key: string | undefined, method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(gw.url, key, method, path, body, headers);
const policyCall = (key: string, method: string, path: string, body?: unknown) => call(policy.url, key, method, path, body);

async function register(key: string, r: Receiver, eventTypes: string[], format = "json"): Promise<string> {
  const res = await policyCall(key, "POST", "/v1/webhooks", { url: r.url, eventTypes, format });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  r.secret = res.body.secret;
  await gw.webhooks.refresh();
  return res.body.endpoint.id as string;
}

/** Checks a delivered event field by field against the expectation table (fields not listed arrive unchanged). */
function expectAsPolicySays(party: string, published: Record<string, unknown>, delivered: Record<string, unknown>): void {
  const want = EXPECTED[party]![published.eventId as string]!;
  expect(want, `${party} is not entitled to ${String(published.eventId)}`).toBeDefined();
  for (const [field, value] of Object.entries(published)) {
    const exp = want[field];
    expect(delivered[field], `${party} ${String(published.eventId)}.${field}`).toEqual(exp ? exp.value : value);
  }
}

async function metricValue(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(" ").pop());
}

let uniq = 0;
const fresh = <T extends { eventId?: string; parcelId: string }>(e: T, tag: string): T => ({ ...e, eventId: `${tag}-${++uniq}-${Date.now()}` });

beforeAll(async () => {
  policy = await startPolicyService(base0);
  config = { ...base0, policyService: { ...base0.policyService, url: policy.url } };
  router = await startRouter(config);
  gw = await startGateway(config, { instanceId: "test" });
}, 240_000);

afterAll(async () => {
  await gw?.stop();
  await router?.stop();
  await policy?.stop();
});

describe("publishing over HTTP", () => {
  it("publishes a party's event to its own ingress topic, and the router delivers it as the policy says", async () => {
    const taobao = await new Receiver().listen();
    await register(KEYS.taobao, taobao, ["LockerEvent"]);
    const ev = fresh(L1, "pub");
    const r = await gwCall(KEYS.hivebox, "POST", "/v1/events", { type: "LockerEvent", event: ev });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body).toEqual({ eventIds: [ev.eventId], replayed: false });
    const got = await until("taobao's webhook", () => taobao.payloads().find((p) => p.data.eventId === ev.eventId), 60_000);
    expect(got.type).toBe("LockerEvent");
    expectAsPolicySays("taobao", { ...L1, eventId: "L1" }, { ...got.data, eventId: "L1" });
    expect(got.policyVersion).toBe(policy.service.currentVersion()); // the table is of the version in force
    expect(taobao.rejected).toEqual([]);
    await taobao.close();
  });

  it("publishes a retried request with the same Idempotency-Key exactly once", async () => {
    const ev = fresh(L2, "idem");
    const body = { events: [{ type: "LockerEvent", event: ev }] };
    const key = `k-${Date.now()}`;
    const first = await gwCall(KEYS.hivebox, "POST", "/v1/events", body, { "idempotency-key": key });
    const second = await gwCall(KEYS.hivebox, "POST", "/v1/events", body, { "idempotency-key": key });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body).toEqual({ eventIds: first.body.eventIds, replayed: true });
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    // Another body under the same key is refused.
    const other = await gwCall(KEYS.hivebox, "POST", "/v1/events", { events: [{ type: "LockerEvent", event: fresh(L2, "idem2") }] }, { "idempotency-key": key });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    // Count what reached the ingress topic, read committed, with a consumer of our own.
    const found = await countOnTopic(topics(config.topicPrefix).ingress("hive-box", "LockerEvent"), ev.eventId!);
    expect(found).toBe(1);
  });

  it("refuses to publish as another party and every bad input with its own 4xx, counted by code", async () => {
    const spoof = await gwCall(KEYS.hivebox, "POST", "/v1/events", { type: "LockerEvent", event: { ...fresh(L1, "spoof"), locker: "cainiao" } });
    expect(spoof.status).toBe(400);
    expect(spoof.body.code).toBe("EVENTS_INVALID");
    expect(spoof.body.details.join(" ")).toMatch(/locker: a party may only publish as itself/);
    const otherType = await gwCall(KEYS.hivebox, "POST", "/v1/events", { type: "TrackingEvent", event: fresh(T1, "t") });
    expect(otherType.status).toBe(400); // hive-box is a locker: TrackingEvent's courier must be itself, and it has no tracking topic

    const unknownField = await gwCall(KEYS.hivebox, "POST", "/v1/events", { type: "LockerEvent", event: { ...fresh(L1, "u"), colour: "red" } });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.details.join(" ")).toMatch(/colour: is not a field/);
    const unknownTop = await gwCall(KEYS.hivebox, "POST", "/v1/events", { type: "LockerEvent", event: fresh(L1, "u2"), extra: 1 });
    expect(unknownTop.status).toBe(400);
    expect(unknownTop.body.code).toBe("REQUEST_INVALID");

    expect((await gwCall(undefined, "POST", "/v1/events", { type: "LockerEvent", event: fresh(L1, "x") })).status).toBe(401);
    expect((await gwCall("not-a-key", "POST", "/v1/events", { type: "LockerEvent", event: fresh(L1, "x") })).status).toBe(401);
    expect((await gwCall(KEYS.viewer, "POST", "/v1/events", { type: "LockerEvent", event: fresh(L1, "x") })).status).toBe(403);
    const notJson = await gwCall(KEYS.hivebox, "POST", "/v1/events", "{ nope");
    expect(notJson.status).toBe(400);
    const plain = await gwCall(KEYS.hivebox, "POST", "/v1/events", "hello", { "content-type": "text/plain" });
    expect(plain.status).toBe(415);
    const big = await gwCall(KEYS.hivebox, "POST", "/v1/events", { events: Array.from({ length: 250 }, () => ({ type: "LockerEvent", event: { ...fresh(L1, "big"), siteCode: "x".repeat(900) } })) });
    expect(big.status).toBe(413);
    const tooMany = await gwCall(KEYS.hivebox, "POST", "/v1/events", { events: Array.from({ length: 301 }, () => ({ type: "LockerEvent", event: fresh(L1, "many") })) });
    expect(tooMany.status).toBe(400);
    expect((await gwCall(KEYS.hivebox, "GET", "/v1/nothing")).status).toBe(404);

    // Rate: the burst is 200 events, then 100/s; a party over it gets 429 with Retry-After, others do not.
    const batch = () => ({ events: Array.from({ length: 200 }, () => ({ type: "LockerEvent", event: fresh(L1, "rate") })) });
    const answers = [await gwCall(KEYS.hivebox, "POST", "/v1/events", batch()), await gwCall(KEYS.hivebox, "POST", "/v1/events", batch())];
    const limited = answers.find((a) => a.status === 429);
    expect(limited, answers.map((a) => a.status).join(",")).toBeDefined();
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await gwCall(KEYS.zto, "POST", "/v1/events", { type: "TrackingEvent", event: fresh({ ...T1, courier: "zto", parcelId: "ZT77" }, "zto") })).status).toBe(202);

    for (const code of ["EVENTS_INVALID", "REQUEST_INVALID", "UNAUTHENTICATED", "FORBIDDEN", "UNSUPPORTED_MEDIA_TYPE", "BODY_TOO_LARGE", "RATE_LIMITED", "IDEMPOTENCY_KEY_REUSED", "NOT_FOUND"]) {
      expect(await metricValue("px_gateway_rejected_total", `code="${code}"`), code).toBeGreaterThan(0);
    }
    const doc = await gwCall(undefined, "GET", "/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/v1/events", "/v1/stream"]));
  });
});

async function countOnTopic(topic: string, eventId: string): Promise<number> {
  const kafka = createKafka(config, createLogger("gw-test", "warn"));
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `${config.topicPrefix}.count-${Date.now()}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let n = 0;
  const pending = new Set(ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => p.partition));
  await new Promise<void>((resolve) => {
    if (pending.size === 0) resolve();
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) if (m.value?.includes(Buffer.from(eventId))) n++;
        const high = Number(ends.find((p) => p.partition === batch.partition)!.high);
        if (Number(batch.lastOffset()) + 2 >= high || Number(batch.highWatermark) <= Number(batch.lastOffset()) + 1) pending.delete(batch.partition);
        if (pending.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  return n;
}

describe("webhooks", () => {
  it("retries an endpoint that fails five times with the same webhook-id, and delivers once", async () => {
    const flaky = await new Receiver((n) => (n < 5 ? 500 : 200)).listen();
    await register(KEYS.sf, flaky, ["OrderCreated"]);
    const ev = fresh(O1, "flaky");
    expect((await gwCall(KEYS.taobao, "POST", "/v1/events", { type: "OrderCreated", event: ev })).status).toBe(202);
    const got = await until("the sixth attempt", () => flaky.payloads().find((p) => p.data.eventId === ev.eventId), 60_000);
    const ids = new Set(flaky.attempts.map((a) => a.id));
    expect(ids.size).toBe(1);
    expect(flaky.attempts.map((a) => a.status)).toEqual([500, 500, 500, 500, 500, 200]);
    expectAsPolicySays("sf-express", { ...O1, eventId: "O1" }, { ...got.data, eventId: "O1" });
    await new Promise((r) => setTimeout(r, 500));
    expect(flaky.attempts).toHaveLength(6);
    await flaky.close();
  });

  it("disables an endpoint that answers 410, and the owner sees it disabled", async () => {
    const gone = await new Receiver(() => 410).listen();
    const id = await register(KEYS.zto, gone, ["LockerEvent"]);
    expect((await gwCall(KEYS.hivebox, "POST", "/v1/events", { type: "LockerEvent", event: fresh(L2, "gone") })).status).toBe(202);
    const ep = await until("the endpoint disabled", async () => {
      const list = await policyCall(KEYS.zto, "GET", "/v1/webhooks");
      return list.body.find((e: any) => e.id === id && e.status === "disabled");
    }, 60_000);
    expect(ep.disabledReason).toMatch(/410/);
    expect(gone.attempts).toHaveLength(1);
    const ledger = await policyCall(KEYS.regulator, "GET", "/v1/ledger");
    expect(ledger.body.some((e: any) => e.type === "webhook.disabled" && JSON.stringify(e.body).includes(id))).toBe(true);
    // The notice follows the disabling (the endpoint is listed disabled as soon as that is recorded).
    await until("the owner's notice in the ledger", async () => (await policyCall(KEYS.regulator, "GET", "/v1/ledger")).body.some((e: any) => e.type === "policy.notice" && e.body.webhook === id) || undefined, 30_000);
    await gone.close();
  });

  it("disables an endpoint that fails for the whole retry schedule (scaled down here), and notifies its owner", async () => {
    const down = await new Receiver(() => 503).listen();
    const id = await register(KEYS.hivebox, down, ["OrderCreated"]);
    expect((await gwCall(KEYS.taobao, "POST", "/v1/events", { type: "OrderCreated", event: fresh(O1, "down") })).status).toBe(202);
    const ep = await until("the endpoint disabled after the schedule", async () => {
      const list = await policyCall(KEYS.hivebox, "GET", "/v1/webhooks");
      return list.body.find((e: any) => e.id === id && e.status === "disabled");
    }, 90_000, 500);
    expect(ep.disabledReason).toMatch(/every attempt of the retry schedule failed \(12 attempts/);
    expect(down.attempts.length).toBe(12); // the first attempt and 11 retries, all with one webhook-id
    expect(new Set(down.attempts.map((a) => a.id)).size).toBe(1);
    // The notice follows the disabling (the endpoint is listed disabled as soon as that is recorded).
    await until("the owner's notice in the ledger", async () => (await policyCall(KEYS.regulator, "GET", "/v1/ledger")).body.some((e: any) => e.type === "policy.notice" && e.body.webhook === id) || undefined, 30_000);
    await down.close();
  }, 120_000);

  it("a slow endpoint of one party does not hold up another party's deliveries", async () => {
    const slow = await new Receiver(() => new Promise((r) => setTimeout(() => r(200), 4_000))).listen();
    const quick = await new Receiver().listen();
    await register(KEYS.jd, slow, ["LockerEvent"]);
    await register(KEYS.zto, quick, ["LockerEvent"]);
    const evs = Array.from({ length: 5 }, () => fresh(L2, "slow"));
    const t0 = Date.now();
    expect((await gwCall(KEYS.hivebox, "POST", "/v1/events", { events: evs.map((event) => ({ type: "LockerEvent", event })) })).status).toBe(202);
    await until("zto's five", () => evs.every((e) => quick.payloads().some((p) => p.data.eventId === e.eventId)) || undefined, 30_000, 50);
    const quickMs = Date.now() - t0;
    expect(slow.accepted.size).toBeLessThan(5); // jd's endpoint is still working through them (4 s each)
    expect(quickMs).toBeLessThan(8_000);
    for (const p of quick.payloads().filter((p) => evs.some((e) => e.eventId === p.data.eventId))) expectAsPolicySays("zto", { ...L2, eventId: "L2" }, { ...p.data, eventId: "L2" });
    await slow.close();
    await quick.close();
  });
});

/** Reads Server-Sent Events from the gateway until `want` events of interest arrived; then aborts. */
async function readStream(key: string, query: string, want: number, lastEventId?: string): Promise<{ id: string; event: string; data: any }[]> {
  const ac = new AbortController();
  const res = await fetch(`${gw.url}/v1/stream?${query}`, { headers: { authorization: `Bearer ${key}`, ...(lastEventId ? { "last-event-id": lastEventId } : {}) }, signal: ac.signal });
  expect(res.status).toBe(200);
  const out: { id: string; event: string; data: any }[] = [];
  const reader = res.body!.getReader();
  let buf = "";
  const timer = setTimeout(() => ac.abort(), 60_000);
  try {
    while (out.length < want) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString("utf8");
      let i: number;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const f: Record<string, string> = {};
        for (const line of block.split("\n")) {
          const m = /^(id|event|data): (.*)$/.exec(line);
          if (m) f[m[1]!] = m[2]!;
        }
        if (f.event !== undefined && f.data !== undefined) out.push({ id: f.id!, event: f.event, data: JSON.parse(f.data) });
      }
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return out;
}

describe("the live stream", () => {
  it("streams a party's deliveries and resumes after the last event seen with Last-Event-ID", async () => {
    const first = Array.from({ length: 3 }, () => fresh(L1, "sse"));
    const reading = readStream(KEYS.taobao, "types=LockerEvent", 3);
    await new Promise((r) => setTimeout(r, 4_000)); // the stream's consumer joins
    expect((await gwCall(KEYS.hivebox, "POST", "/v1/events", { events: first.map((event) => ({ type: "LockerEvent", event })) })).status).toBe(202);
    const got = await reading;
    expect(got.map((e) => e.data.data.eventId)).toEqual(first.map((e) => e.eventId));
    for (const e of got) {
      expect(e.event).toBe("LockerEvent");
      expectAsPolicySays("taobao", { ...L1, eventId: "L1" }, { ...e.data.data, eventId: "L1" });
    }
    const more = Array.from({ length: 2 }, () => fresh(L1, "sse2"));
    expect((await gwCall(KEYS.hivebox, "POST", "/v1/events", { events: more.map((event) => ({ type: "LockerEvent", event })) })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 3_000)); // delivered by the router while no stream is open
    const resumed = await readStream(KEYS.taobao, "types=LockerEvent", 2, got[2]!.id);
    expect(resumed.map((e) => e.data.data.eventId)).toEqual(more.map((e) => e.eventId));
    const bad = await fetch(`${gw.url}/v1/stream`, { headers: { authorization: `Bearer ${KEYS.taobao}`, "last-event-id": "garbage" } });
    expect(bad.status).toBe(400);
    expect((await fetch(`${gw.url}/v1/stream`)).status).toBe(401);
  }, 120_000);
});

describe("EPCIS 2.0 output", () => {
  it("delivers webhooks, and a parcel's history, as EPCIS documents that GS1's schema accepts, with nothing beyond policy", async () => {
    const { loadEpcisValidator } = await import("../services/gateway/src/epcis/gs1-schema.js");
    const gs1 = await loadEpcisValidator();
    const hook = await new Receiver().listen();
    await register(KEYS.jd, hook, ["TrackingEvent"], "epcis");
    const parcelId = `EP${Date.now()}`;
    const steps = (["ARRIVED_HUB", "DEPARTED_HUB", "OUT_FOR_DELIVERY"] as const).map((status, i) => fresh({ ...T2, parcelId, status, eventTime: T2.eventTime + i }, "epcis"));
    const { PartyPublisher } = await import("@parcel-exchange/sdk");
    const zto = await PartyPublisher.connect({ party: "zto", config });
    await zto.publishMany(steps.map((event) => ({ type: "TrackingEvent" as const, event })));
    await zto.disconnect();
    const docs = await until("jd's three EPCIS webhooks", () => (hook.payloads().filter((p) => steps.some((s) => s.eventId === p.sourceEventId)).length === 3 ? hook.payloads().filter((p) => steps.some((s) => s.eventId === p.sourceEventId)) : undefined), 60_000);
    for (const d of docs) {
      expect(d.type).toBe("EPCISDocument");
      const verdict = gs1.document(d.data);
      expect(verdict.errors ?? [], JSON.stringify(verdict)).toEqual([]);
      expect(verdict.valid).toBe(true);
      // JD receives ZTO staff only as tokens and no recipient phone: none of the raw values may appear.
      for (const raw of [T2.staffName, T2.staffPhone, T2.staffId]) expect(JSON.stringify(d.data)).not.toContain(String(raw));
    }
    const json = await gwCall(KEYS.jd, "GET", `/v1/parcels/${parcelId}/events`);
    expect(json.status).toBe(200);
    expect(json.body.events.map((e: any) => e.data.status)).toEqual(["ARRIVED_HUB", "DEPARTED_HUB", "OUT_FOR_DELIVERY"]);
    for (const e of json.body.events) expectAsPolicySays("jd", { ...T2, eventId: "T2", parcelId, status: e.data.status, eventTime: e.data.eventTime }, { ...e.data, eventId: "T2" });
    const epcis = await gwCall(KEYS.jd, "GET", `/v1/parcels/${parcelId}/events?format=epcis`);
    expect(gs1.document(epcis.body).valid).toBe(true);
    expect(epcis.body.epcisBody.eventList).toHaveLength(3);
    // Another party gets only its own deliveries of the parcel: Hive Box receives none of these.
    expect((await gwCall(KEYS.hivebox, "GET", `/v1/parcels/${parcelId}/events`)).body.events).toEqual([]);
    expect((await gwCall(KEYS.jd, "GET", `/v1/parcels/${parcelId}/events?format=xml`)).status).toBe(400);
    await hook.close();
  }, 120_000);
});

describe("a gateway killed mid-delivery", () => {
  it("loses nothing: every entitled event arrives after a SIGKILL and restart, each webhook-id accepted once", async () => {
    const r = await new Receiver(() => new Promise((res) => setTimeout(() => res(200), 20))).listen();
    const env = { ...process.env, ...GATEWAY_ENV, PX_TOPIC_PREFIX: config.topicPrefix, PX_POLICY_URL: policy.url, PX_LOG_LEVEL: "warn", NODE_ENV: "test", PX_GATEWAY_INSTANCE_ID: "child" };
    const spawnGateway = (): ChildProcess => spawn(process.execPath, ["--conditions=px-source", "--import", "tsx", join(ROOT, "services/gateway/src/main.ts")], { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] });
    // The in-process gateway must not deliver this endpoint too: stop it for this test.
    await gw.stop();
    let child = spawnGateway();
    try {
      const res = await policyCall(KEYS.taobao, "POST", "/v1/webhooks", { url: r.url, eventTypes: ["TrackingEvent"] });
      expect(res.status).toBe(201);
      r.secret = res.body.secret;
      const evs = Array.from({ length: 60 }, (_, i) => fresh({ ...T1, parcelId: `KILL${i % 7}` }, "kill"));
      const { PartyPublisher } = await import("@parcel-exchange/sdk");
      const sf = await PartyPublisher.connect({ party: "sf-express", config });
      await sf.publishMany(evs.map((event) => ({ type: "TrackingEvent" as const, event })));
      await sf.disconnect();
      await until("some deliveries", () => r.accepted.size >= 10 || undefined, 90_000, 20);
      child.kill("SIGKILL");
      await new Promise((res) => child.once("exit", res));
      const before = r.accepted.size;
      expect(before).toBeLessThan(60);
      child = spawnGateway();
      await until("every event", () => evs.every((e) => r.payloads().some((p) => p.data.eventId === e.eventId)) || undefined, 120_000);
      // In order per parcel: the receiver saw each parcel's events in the order published.
      for (let k = 0; k < 7; k++) {
        const sent = evs.filter((e) => e.parcelId === `KILL${k}`).map((e) => e.eventId);
        const seen = r.payloads().filter((p) => p.data.parcelId === `KILL${k}`).map((p) => p.data.eventId);
        expect(seen).toEqual(sent);
      }
      expect(r.accepted.size).toBe(60);
      expect(r.rejected).toEqual([]);
      for (const p of r.payloads()) expectAsPolicySays("taobao", { ...T1, eventId: "T1", parcelId: p.data.parcelId }, { ...p.data, eventId: "T1" });
    } finally {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((res) => child.once("exit", res));
      }
      await r.close();
    }
  }, 300_000);
});
