/**
 * The px CLI as a child process against the real stack: an in-process policy service (HTTP API on port 0)
 * with topics unique to this run. Checks output and, above all, the exit codes scripts rely on.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LedgerStore } from "@parcel-exchange/ledger";
import type { PolicyService, WebhookEndpoint, WebhookSecretResponse } from "@parcel-exchange/policy";
import { PartyPublisher } from "@parcel-exchange/sdk";
import { L1 } from "../../../test/fixtures.js";
import { envOf, startPolicyService, startRouter, type RunningRouter } from "../../../test/harness.js";
import { ROOT, testConfig } from "../../../test/helpers.js";

// Webhook URLs are held to the production rules here (https, no private addresses), whatever the environment says.
const config = testConfig("pxcli", { PX_DRY_RUN_EVENTS: "200", PX_WEBHOOK_ALLOW_HTTP: "false", PX_WEBHOOK_ALLOW_PRIVATE: "false" });
const KEYS = { regulator: "px-dev-key-regulator-spb", taobao: "px-dev-key-taobao", jd: "px-dev-key-jd", zto: "px-dev-key-zto", viewer: "px-dev-key-viewer" } as const;
let service: PolicyService;
let ledger: LedgerStore;
let server: Server;
let stopService: (() => Promise<void>) | undefined;
let env: NodeJS.ProcessEnv;
let dir: string;
let router: RunningRouter | undefined;

interface Result {
  code: number | null;
  out: string;
  err: string;
}

function px(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=px-source", "--import", "tsx", join(ROOT, "services/cli/src/px.ts"), ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

beforeAll(async () => {
  const running = await startPolicyService(config);
  ({ service, ledger, server } = running);
  stopService = running.stop;
  const { PX_API_KEY: _ignored, ...inherited } = process.env;
  env = {
    ...inherited,
    ...envOf(config),
    PX_POLICY_URL: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    PX_SIGNING_KEY_FILE: config.signing.privateKeyFile,
    PX_VERIFY_KEY_FILE: config.signing.publicKeyFile,
  };
  dir = await mkdtemp(join(tmpdir(), "px-cli-int-"));
}, 240_000);

afterAll(async () => {
  await router?.stop();
  await stopService?.();
});

describe("px policy", () => {
  it("history: exit 0 with a table of versions", async () => {
    const r = await px("policy", "history", "--key", KEYS.viewer);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^VERSION +KIND +AT +BY +SUMMARY$/m);
    expect(r.out).toMatch(/^v1\S* +published .* policy-service +initial policy/m);
    expect(r.out).toMatch(/in force: v1\S*$/m);
  });

  it("takes the API key from PX_API_KEY, and refuses a missing or unknown one with exit 4", async () => {
    env.PX_API_KEY = KEYS.viewer;
    try {
      expect((await px("policy", "list")).code).toBe(0);
    } finally {
      delete env.PX_API_KEY;
    }
    expect((await px("policy", "list")).code).toBe(4);
    const r = await px("policy", "list", "--key", "not-a-key");
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/401 UNAUTHENTICATED: unknown API key/);
  });

  it("propose as a party for someone else's contract: exit 4", async () => {
    const r = await px("policy", "propose", "--contract", "policies/contracts/jd--zto.json", "--description", "not mine", "--key", KEYS.taobao);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/403 FORBIDDEN: party:taobao is not a side of contract jd--zto/);
  });

  it("a Rego file that does not compile: exit 3 with the compiler's message, for test and propose", async () => {
    const broken = join(dir, "broken.rego");
    await writeFile(broken, "package px.router\n\nthis is not rego {\n");
    const before = service.currentVersion();
    const t = await px("policy", "test", "--rego", `router/broken.rego=${broken}`, "--key", KEYS.regulator);
    expect(t.code).toBe(3);
    expect(t.err).toMatch(/422 CHANGE_REJECTED/);
    expect(t.err).toMatch(/compiler:[\s\S]*(rego_parse_error|parse error)/i);
    expect(t.err).toMatch(/evaluating the change/); // progress, one line when stderr is not a terminal
    const p = await px("policy", "propose", "--rego", `router/broken.rego=${broken}`, "--description", "broken", "--key", KEYS.regulator);
    expect(p.code).toBe(3);
    expect(service.currentVersion()).toBe(before);
  });

  it("propose, show, approve by both sides; 404 and 409 give exits 5 and 6", async () => {
    const c = JSON.parse(await readFile("policies/contracts/jd--zto.json", "utf8")) as { contracts: Record<string, Record<string, unknown>> };
    const file = join(dir, "jd--zto.json");
    await writeFile(file, JSON.stringify({ ...c.contracts["jd--zto"], notice_days: 7 })); // a bare contract
    const diff = await px("policy", "diff", "--contract", file, "--key", KEYS.jd);
    expect(diff.code).toBe(0);
    expect(diff.out).toMatch(/cases compared exactly[\s\S]*Reductions — what a party would stop receiving: none[\s\S]*Floor violations: none/);

    const p = await px("policy", "propose", "--contract", file, "--description", "notice 7 days", "--key", KEYS.jd);
    expect(p.code).toBe(0);
    const id = /^proposal (prop-[\w-]+): proposed$/m.exec(p.out)?.[1];
    expect(id, p.out).toBeDefined();
    expect(p.out).toMatch(/Reductions: none/);
    expect(p.out).toMatch(/needs: +jd, zto/);

    const show = await px("policy", "show", id!, "--key", KEYS.viewer);
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/contract jd--zto: set/);
    expect((await px("policy", "list", "--key", KEYS.viewer)).out).toContain(id!);

    const a = await px("policy", "approve", id!, "--key", KEYS.zto);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(new RegExp(`proposal ${id}: published as v\\d+`));
    expect((await px("policy", "approve", id!, "--key", KEYS.zto)).code).toBe(6);
    expect((await px("policy", "show", "prop-nosuch", "--key", KEYS.viewer)).code).toBe(5);
    const json = await px("policy", "show", id!, "--json", "--key", KEYS.viewer);
    expect(JSON.parse(json.out)).toMatchObject({ id, status: "published" });
  });

  it("rollback as regulator: exit 0, and the history shows it", async () => {
    const history = JSON.parse((await px("policy", "history", "--json", "--key", KEYS.viewer)).out) as { version: string }[];
    const first = history[0]!.version;
    expect(service.currentVersion()).not.toBe(first);
    const r = await px("policy", "rollback", first, "--key", KEYS.regulator);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`rolled back: ${first} is in force`);
    expect(service.currentVersion()).toBe(first);
    expect((await px("policy", "history", "--key", KEYS.viewer)).out).toMatch(/^v1\S* +rolled_back .* regulator:spb +rolled back from v2/m);
    expect((await px("policy", "rollback", "v999", "--key", KEYS.regulator)).code).toBe(5);
    expect((await px("policy", "rollback", first, "--key", KEYS.jd)).code).toBe(4);
  });
});

describe("px webhooks", () => {
  it("a party adds an endpoint and sees its secret once; lists it without secrets; rotates to two secrets; disables and enables it", async () => {
    const add = await px("webhooks", "add", "--url", "https://hooks.example.com/px-cli", "--types", "TrackingEvent,LockerEvent", "--key", KEYS.jd);
    expect(add.err).toBe("");
    expect(add.code).toBe(0);
    const id = /^webhook endpoint (ep_[0-9a-f]{24}): enabled$/m.exec(add.out)?.[1];
    const secret = /^secret: (whsec_\S+)$/m.exec(add.out)?.[1];
    expect(id, add.out).toBeDefined();
    expect(secret, add.out).toBeDefined();
    expect(add.out).toMatch(/it will not be shown again/);

    const list = await px("webhooks", "list", "--key", KEYS.jd);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^ID +PARTY +STATUS +FORMAT +EVENTS +SECRETS +URL$/m);
    expect(list.out).toMatch(new RegExp(`^${id} +jd +enabled +json +TrackingEvent,LockerEvent `, "m"));
    expect(list.out).not.toContain("whsec_");
    const listed = JSON.parse((await px("webhooks", "list", "--json", "--key", KEYS.jd)).out) as WebhookEndpoint[];
    expect(listed.find((e) => e.id === id)).toMatchObject({ party: "jd", status: "enabled", url: "https://hooks.example.com/px-cli", format: "json", createdBy: "party:jd", secretIds: [expect.stringMatching(/^[0-9a-f]{8}$/)] });
    expect(JSON.stringify(listed)).not.toContain("whsec_");

    const rot = await px("webhooks", "rotate", id!, "--json", "--key", KEYS.jd);
    expect(rot.code).toBe(0);
    const rotated = JSON.parse(rot.out) as WebhookSecretResponse;
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(secret);
    expect(rotated.endpoint.secretIds).toHaveLength(2);
    expect(rotated.endpoint.secretIds[1]).toBe(listed.find((e) => e.id === id)!.secretIds[0]);

    const off = await px("webhooks", "disable", id!, "--reason", "moving hosts", "--key", KEYS.jd);
    expect(off.code).toBe(0);
    expect(off.out).toMatch(new RegExp(`^webhook endpoint ${id}: disabled \\(moving hosts\\)$`, "m"));
    expect((await px("webhooks", "enable", id!, "--key", KEYS.jd)).out).toMatch(new RegExp(`^webhook endpoint ${id}: enabled$`, "m"));
    expect((await px("webhooks", "rotate", "ep_000000000000000000000000", "--key", KEYS.jd)).code).toBe(5);

    // Another party sees none of it, and its id answers "not found", not "forbidden".
    const other = await px("webhooks", "list", "--key", KEYS.taobao);
    expect(other.code).toBe(0);
    expect(other.out).toBe("no webhook endpoints\n");
    const steal = await px("webhooks", "rotate", id!, "--key", KEYS.taobao);
    expect(steal.code).toBe(5);
    expect(steal.err).toMatch(/404 NOT_FOUND/);
    expect((await px("webhooks", "add", "--url", "https://hooks.example.com/x", "--types", "TrackingEvent", "--party", "jd", "--key", KEYS.taobao)).code).toBe(4);

    // A viewer may list but not add.
    const viewer = await px("webhooks", "add", "--url", "https://hooks.example.com/v", "--types", "TrackingEvent", "--key", KEYS.viewer);
    expect(viewer.code).toBe(4);
    expect(viewer.err).toMatch(/403 FORBIDDEN/);
    expect((await px("webhooks", "list", "--key", KEYS.viewer)).out).toContain(id!);
    // Malformed: a private address and an unknown event type, both named (exit 2).
    const bad = await px("webhooks", "add", "--url", "https://127.0.0.1/x", "--types", "TrackingEvent,Nope", "--key", KEYS.jd);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/400 REQUEST_INVALID[\s\S]*private[\s\S]*Nope/);

    // The ledger records each change with fingerprints only.
    const entries = await ledger.readAll();
    const about = entries.filter((e) => (e.body as { endpoint?: string }).endpoint === id);
    expect(about.map((e) => e.type)).toEqual(["webhook.created", "webhook.secret_rotated", "webhook.disabled", "webhook.enabled"]);
    expect(about[0]).toMatchObject({ actor: "party:jd", body: { party: "jd", url: "https://hooks.example.com/px-cli", eventTypes: ["TrackingEvent", "LockerEvent"], format: "json", by: "party:jd" } });
    expect((about[1]!.body as { secretIds: string[] }).secretIds).toEqual(rotated.endpoint.secretIds);
    expect(about[2]!.body).toMatchObject({ reason: "moving hosts" });
    expect(JSON.stringify(entries)).not.toContain("whsec_");
  });
});

describe("px ledger", () => {
  it("export + verify --file: exit 0; a tampered copy: exit 1 naming the seq", async () => {
    const file = join(dir, "ledger.jsonl");
    const e = await px("ledger", "export", "--out", file, "--key", KEYS.viewer);
    expect(e.code).toBe(0);
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    expect(e.out).toContain(`exported ${lines.length} entries to ${file}`);
    const head = (JSON.parse(lines[lines.length - 1]!) as { hash: string }).hash;

    const v = await px("ledger", "verify", "--file", file, "--expected-head", head);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(new RegExp(`^OK .*: ${lines.length} entries verified`, "m"));
    expect(v.out).toContain(`head ${head}`);

    const tampered = join(dir, "tampered.jsonl");
    const entry = JSON.parse(lines[2]!) as Record<string, unknown>;
    await writeFile(tampered, [...lines.slice(0, 2), JSON.stringify({ ...entry, actor: "someone-else" }), ...lines.slice(3)].join("\n") + "\n");
    const t = await px("ledger", "verify", "--file", tampered);
    expect(t.code).toBe(1);
    expect(t.out).toMatch(/^FAILED /m);
    expect(t.out).toMatch(/^ +altered +seq 2 +.*line 3/m);

    // Truncation at the end shows only against a trusted head.
    const short = join(dir, "short.jsonl");
    await writeFile(short, lines.slice(0, -1).join("\n") + "\n");
    expect((await px("ledger", "verify", "--file", short)).code).toBe(0);
    expect((await px("ledger", "verify", "--file", short, "--expected-head", head)).code).toBe(1);
    expect((await px("ledger", "verify", "--file", join(dir, "missing.jsonl"))).code).toBe(2);
  });

  it("export and verify straight from the Kafka topic, without the service's key", async () => {
    const file = join(dir, "from-topic.jsonl");
    const e = await px("ledger", "export", "--from-topic", "--out", file);
    expect(e.code).toBe(0);
    const v = await px("ledger", "verify", "--from-topic", "--public-key", config.signing.publicKeyFile);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^OK topic .*\.ledger: \d+ entries verified/m);
    expect((await readFile(file, "utf8")).trim().split("\n").length).toBe((await ledger.readAll()).length);
  });
});

describe("px tail", () => {
  it("prints one JSON line per delivery, decoded, with the policy version and transformations", async () => {
    router = await startRouter(config);
    const hb = await PartyPublisher.connect({ party: "hive-box", config });
    await hb.publishMany([{ type: "LockerEvent" as const, event: { ...L1, eventId: "tail-1" } }]);
    await hb.disconnect();
    const r = await px("tail", "taobao", "--from-beginning", "--max", "1");
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, any>);
    const d = lines.find((l) => l.kind === "delivery")!;
    expect(d).toMatchObject({ type: "LockerEvent", sourceEventId: "tail-1", policyVersion: service.currentVersion() });
    expect(Array.isArray(d.transformed)).toBe(true);
    expect(d.event.parcelId).toBe(L1.parcelId);
    expect((await px("tail", "Not A Party!")).code).toBe(2);
  });
});
