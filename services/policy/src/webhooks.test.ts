/** Webhook endpoints without Kafka: request checks, who may do what, secrets and rotation, the check against the ledger. */
import { describe, expect, it } from "vitest";
import { problemsOf } from "./problems.testkit.js";
import { createLogger, webhookSecretId } from "@parcel-exchange/shared";
import type { LedgerDraft, LedgerEntry } from "@parcel-exchange/ledger";
import { ForbiddenError, NotFoundError, RequestInvalidError } from "./errors.js";
import { webhookDisabledNotice } from "./notices.js";
import { LedgerIndex, STALE } from "./state.js";
import type { User } from "./users.js";
import { authorizeWebhookAction, MAX_ENDPOINTS_PER_PARTY, visibleWebhooks, webhookOwner } from "./webhook-authz.js";
import { isPrivateHost, parseCreateWebhookRequest, parseDisableWebhookRequest, urlProblems } from "./webhook-requests.js";
import { checkStoredWebhook, endpointView, liveSecrets, newEndpointId, ROTATION_OVERLAP_MS, rotatedSecrets, targetView, WebhookRegistry, webhookEntryBody, type StoredWebhook, type WebhookDeps } from "./webhooks.js";

const STRICT = { allowHttp: false, allowPrivate: false };
const LAX = { allowHttp: true, allowPrivate: true };

const user = (role: User["role"], party?: string): User => ({ id: party ? `party:${party}` : `${role}:x`, role, ...(party ? { party } : {}), keySha256: "" });
const jd = user("party", "jd");
const taobao = user("party", "taobao");
const regulator = user("regulator");
const viewer = user("viewer");
const gateway = user("gateway");


describe("endpoint URLs", () => {
  it("accept https to a public host", () => {
    for (const u of ["https://hooks.example.com/px?x=1", "https://8.8.8.8/hook", "https://172.32.0.1/", "https://[2001:db8::1]/"]) expect(urlProblems(u, STRICT), u).toEqual([]);
  });

  it("refuse other schemes, credentials, fragments, over-long and unparsable URLs", () => {
    expect(urlProblems("http://hooks.example.com/", STRICT)).toEqual([expect.stringMatching(/must be https/)]);
    expect(urlProblems("http://hooks.example.com/", LAX)).toEqual([]);
    expect(urlProblems("ftp://hooks.example.com/", LAX)).toEqual([expect.stringMatching(/must be https/)]);
    expect(urlProblems("https://u:p@hooks.example.com/", STRICT)).toEqual([expect.stringMatching(/user name or password/)]);
    expect(urlProblems("https://u@hooks.example.com/", STRICT)).toHaveLength(1);
    expect(urlProblems("https://hooks.example.com/#", STRICT)).toEqual([expect.stringMatching(/fragment/)]);
    expect(urlProblems(`https://hooks.example.com/${"a".repeat(2048)}`, LAX)).toEqual([expect.stringMatching(/at most 2048/)]);
    expect(urlProblems("not a url", LAX)).toEqual(["'url' is not a URL"]);
    expect(urlProblems(42, LAX)).toEqual([expect.stringMatching(/non-empty string/)]);
    // Every problem at once.
    expect(urlProblems("http://u:p@127.0.0.1/#x", STRICT)).toHaveLength(4);
  });

  it("refuse localhost and literal loopback, private and link-local addresses unless allowed", () => {
    const hosts = ["localhost", "LOCALHOST.", "api.localhost", "127.0.0.1", "127.1.2.3", "2130706433", "0x7f.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "[::1]", "[::]", "[fe80::1]", "[fd00::1]", "[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]"];
    for (const h of hosts) {
      expect(urlProblems(`https://${h}/hook`, STRICT), h).toEqual([expect.stringMatching(/private/)]);
      expect(urlProblems(`https://${h}/hook`, { allowHttp: false, allowPrivate: true }), h).toEqual([]);
    }
    expect(isPrivateHost("example.com")).toBe(false);
    expect(isPrivateHost("[::ffff:8.8.8.8]")).toBe(false);
  });
});

describe("request bodies", () => {
  it("take url, eventTypes, format (json by default) and party", () => {
    expect(parseCreateWebhookRequest({ url: "https://h.example.com/", eventTypes: ["TrackingEvent", "LockerEvent"] }, STRICT)).toEqual({ url: "https://h.example.com/", eventTypes: ["TrackingEvent", "LockerEvent"], format: "json" });
    expect(parseCreateWebhookRequest({ url: "https://h.example.com/", eventTypes: ["OrderCreated"], format: "epcis", party: "jd" }, STRICT)).toMatchObject({ format: "epcis", party: "jd" });
  });

  it("list every problem of a create body", () => {
    const p = problemsOf(() => parseCreateWebhookRequest({ url: "http://localhost/", eventTypes: ["TrackingEvent", "TrackingEvent", "Nope"], format: "xml", party: "Not A Party", secret: "mine" }, STRICT));
    expect(p).toEqual(
      expect.arrayContaining([
        "unknown key 'secret'",
        expect.stringMatching(/must be https/),
        expect.stringMatching(/private/),
        "'eventTypes' names TrackingEvent twice",
        expect.stringMatching(/'Nope', which is not one of/),
        "'format' must be json or epcis",
        expect.stringMatching(/'party' must be a party id/),
      ]),
    );
    expect(p).toHaveLength(7);
    expect(problemsOf(() => parseCreateWebhookRequest({}, STRICT))).toEqual(["'url' is required", "'eventTypes' is required"]);
    expect(problemsOf(() => parseCreateWebhookRequest({ url: "https://h.example.com/", eventTypes: [] }, STRICT))).toEqual([expect.stringMatching(/non-empty array/)]);
    expect(problemsOf(() => parseCreateWebhookRequest({ url: "https://h.example.com/", eventTypes: "TrackingEvent" }, STRICT))).toEqual([expect.stringMatching(/non-empty array/)]);
  });

  it("require a disable reason of 1–500 characters and nothing else", () => {
    expect(parseDisableWebhookRequest({ reason: "HTTP 410 Gone" })).toEqual({ reason: "HTTP 410 Gone" });
    expect(parseDisableWebhookRequest({ reason: "x".repeat(500) }).reason).toHaveLength(500);
    expect(problemsOf(() => parseDisableWebhookRequest({}))).toEqual(["'reason' is required"]);
    expect(problemsOf(() => parseDisableWebhookRequest({ reason: " " }))).toHaveLength(1);
    expect(problemsOf(() => parseDisableWebhookRequest({ reason: "x".repeat(501) }))).toHaveLength(1);
    expect(problemsOf(() => parseDisableWebhookRequest({ reason: "r", force: true }))).toEqual(["unknown key 'force'"]);
  });
});

describe("who may do what with endpoints", () => {
  const parties = new Set(["jd", "taobao"]);
  const none = () => 0;

  it("a party registers for itself only; a regulator names a party of the policy in force", () => {
    expect(webhookOwner(jd, undefined, parties, none)).toBe("jd");
    expect(webhookOwner(jd, "jd", parties, none)).toBe("jd");
    expect(() => webhookOwner(jd, "taobao", parties, none)).toThrow(ForbiddenError);
    expect(webhookOwner(regulator, "taobao", parties, none)).toBe("taobao");
    expect(problemsOf(() => webhookOwner(regulator, undefined, parties, none))).toEqual([expect.stringMatching(/'party' is required/)]);
    expect(problemsOf(() => webhookOwner(regulator, "zto", parties, none))).toEqual([expect.stringMatching(/zto is not a party of the policy in force/)]);
    expect(() => webhookOwner(viewer, undefined, parties, none)).toThrow(ForbiddenError);
    expect(() => webhookOwner(gateway, "jd", parties, none)).toThrow(ForbiddenError);
  });

  it("allows at most 10 endpoints per party", () => {
    expect(webhookOwner(jd, undefined, parties, () => MAX_ENDPOINTS_PER_PARTY - 1)).toBe("jd");
    expect(problemsOf(() => webhookOwner(jd, undefined, parties, (p) => (p === "jd" ? MAX_ENDPOINTS_PER_PARTY : 0)))).toEqual([expect.stringMatching(/already has 10 webhook endpoints/)]);
    expect(() => webhookOwner(regulator, "jd", parties, () => MAX_ENDPOINTS_PER_PARTY)).toThrow(RequestInvalidError);
  });

  it("answers another party's endpoint NOT_FOUND, like an unknown id; regulators act on any; the gateway only disables", () => {
    const e = { id: "ep_1", party: "jd" };
    for (const a of ["rotate", "disable", "enable"] as const) {
      expect(authorizeWebhookAction(jd, e, a, "ep_1")).toBe(e);
      expect(authorizeWebhookAction(regulator, e, a, "ep_1")).toBe(e);
      expect(() => authorizeWebhookAction(taobao, e, a, "ep_1")).toThrow(NotFoundError);
      expect(() => authorizeWebhookAction(jd, undefined, a, "ep_9")).toThrow(NotFoundError);
      expect(() => authorizeWebhookAction(viewer, e, a, "ep_1")).toThrow(ForbiddenError);
    }
    expect(authorizeWebhookAction(gateway, e, "disable", "ep_1")).toBe(e);
    expect(() => authorizeWebhookAction(gateway, e, "rotate", "ep_1")).toThrow(ForbiddenError);
    expect(() => authorizeWebhookAction(gateway, e, "enable", "ep_1")).toThrow(ForbiddenError);
    expect(() => authorizeWebhookAction(gateway, undefined, "disable", "ep_9")).toThrow(NotFoundError);
  });

  it("lists a party's own endpoints to it, and all to viewers and regulators", () => {
    const all = [{ party: "jd" }, { party: "taobao" }];
    expect(visibleWebhooks(jd, all)).toEqual([{ party: "jd" }]);
    expect(visibleWebhooks(user("party", "zto"), all)).toEqual([]);
    expect(visibleWebhooks(viewer, all)).toEqual(all);
    expect(visibleWebhooks(regulator, all)).toEqual(all);
  });
});

const T0 = Date.parse("2025-01-01T00:00:00.000Z");
const HOUR = 3_600_000;
const stored = (over: Partial<StoredWebhook> = {}): StoredWebhook => ({
  id: "ep_aaaaaaaaaaaaaaaaaaaaaaaa",
  party: "jd",
  url: "https://hooks.example.com/px",
  eventTypes: ["TrackingEvent"],
  format: "json",
  status: "enabled",
  createdAt: new Date(T0).toISOString(),
  createdBy: "party:jd",
  secrets: [{ secret: "whsec_one", createdAt: new Date(T0).toISOString() }],
  ...over,
});

describe("secrets", () => {
  it("rotate: the new secret first, the previous one expiring 24 h later; an already expiring one keeps its time", () => {
    const once = rotatedSecrets(stored().secrets, "whsec_two", T0 + HOUR);
    expect(once).toEqual([
      { secret: "whsec_two", createdAt: new Date(T0 + HOUR).toISOString() },
      { secret: "whsec_one", createdAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + HOUR + ROTATION_OVERLAP_MS).toISOString() },
    ]);
    const twice = rotatedSecrets(once, "whsec_three", T0 + 2 * HOUR);
    expect(twice.map((s) => [s.secret, s.expiresAt])).toEqual([
      ["whsec_three", undefined],
      ["whsec_two", new Date(T0 + 2 * HOUR + ROTATION_OVERLAP_MS).toISOString()],
      ["whsec_one", new Date(T0 + HOUR + ROTATION_OVERLAP_MS).toISOString()],
    ]);
    // Expired secrets are dropped by the next rotation.
    expect(rotatedSecrets(once, "whsec_three", T0 + HOUR + ROTATION_OVERLAP_MS).map((s) => s.secret)).toEqual(["whsec_three", "whsec_two"]);
  });

  it("leave expired secrets out of what readers and the gateway see; readers see only fingerprints", () => {
    const w = stored({ secrets: rotatedSecrets(stored().secrets, "whsec_two", T0) });
    expect(targetView(w, T0 + HOUR).secrets).toEqual(["whsec_two", "whsec_one"]);
    expect(targetView(w, T0 + ROTATION_OVERLAP_MS).secrets).toEqual(["whsec_two"]);
    expect(liveSecrets(w.secrets, T0 + ROTATION_OVERLAP_MS - 1)).toHaveLength(2);
    const view = endpointView(w, T0 + HOUR);
    expect(view.secretIds).toEqual([webhookSecretId("whsec_two"), webhookSecretId("whsec_one")]);
    expect(JSON.stringify(view)).not.toContain("whsec_");
    expect(view).not.toHaveProperty("secrets");
  });

  it("are never in a ledger entry's body: only their fingerprints", () => {
    const body = webhookEntryBody(stored(), "party:jd", "moved");
    expect(body).toEqual({ endpoint: stored().id, party: "jd", url: "https://hooks.example.com/px", eventTypes: ["TrackingEvent"], format: "json", by: "party:jd", reason: "moved", secretIds: [webhookSecretId("whsec_one")] });
    expect(JSON.stringify(body)).not.toContain("whsec_");
  });

  it("endpoint ids are ep_ and 24 hex", () => {
    expect(newEndpointId()).toMatch(/^ep_[0-9a-f]{24}$/);
    expect(newEndpointId()).not.toBe(newEndpointId());
  });
});

describe("stored endpoints against the ledger", () => {
  const w = stored();
  const entry = (seq: number, type: LedgerEntry["type"], body: unknown): LedgerEntry => ({ seq, at: "", type, actor: "a", body, prev: "", hash: `h${seq}`, keyId: "k", sig: "" });
  const created = entry(1, "webhook.created", webhookEntryBody(w, "party:jd"));
  const disabled = stored({ status: "disabled", disabledAt: "t", disabledReason: "gone" });
  const index = new LedgerIndex([entry(0, "policy.published", { version: "v1" }), created, entry(2, "webhook.created", { endpoint: "ep_other" }), entry(3, "webhook.disabled", webhookEntryBody(disabled, "service:gateway", "gone"))]);
  const ref = (seq: number) => ({ seq, hash: `h${seq}` });

  it("accept the record of the newest entry about the endpoint; an older one is STALE", () => {
    expect(checkStoredWebhook(index, w.id, disabled, ref(3))).toBeUndefined();
    expect(checkStoredWebhook(index, w.id, w, ref(1))).toBe(STALE);
    expect(new LedgerIndex([created]).latestWhere(new Set(["webhook.created"]), "endpoint", w.id)?.seq).toBe(1);
  });

  it("refuse a record under another key, unknown to the ledger, pointing elsewhere, or disagreeing with its entry", () => {
    expect(checkStoredWebhook(index, "ep_moved", disabled, ref(3))).toMatch(/under the key/);
    expect(checkStoredWebhook(index, "ep_nope", { ...w, id: "ep_nope" }, ref(3))).toMatch(/records no webhook endpoint/);
    expect(checkStoredWebhook(index, w.id, disabled, ref(2))).toMatch(/does not record endpoint/);
    expect(checkStoredWebhook(index, w.id, { ...disabled, status: "enabled" }, ref(3))).toMatch(/status 'enabled' does not follow/);
    expect(checkStoredWebhook(index, w.id, { ...disabled, url: "https://evil.example.com/" }, ref(3))).toMatch(/does not match ledger entry 3/);
    expect(checkStoredWebhook(index, w.id, { ...disabled, secrets: [{ secret: "whsec_planted", createdAt: "" }] }, ref(3))).toMatch(/does not match/);
  });
});

describe("the registry", () => {
  /** A registry over an in-memory store and ledger, recording the order of writes. */
  function registry(now: { t: number }) {
    const writes: string[] = [];
    const drafts: LedgerDraft[] = [];
    const notices: unknown[][] = [];
    const map = new Map<string, StoredWebhook>();
    const store = {
      get: (k: string) => map.get(k),
      values: () => [...map.values()],
      put: async (k: string, v: StoredWebhook, e: { seq: number }) => {
        writes.push(`store ${k} @${e.seq}`);
        map.set(k, v);
      },
    };
    const ledger = {
      append: async (d: LedgerDraft) => {
        drafts.push(d);
        writes.push(`ledger ${d.type}`);
        return { seq: drafts.length - 1, hash: `h${drafts.length - 1}` };
      },
    };
    const deps = {
      ledger,
      log: createLogger("webhooks-test", "silent"),
      notices: { webhookDisabled: async (...args: unknown[]) => (notices.push(args), webhookDisabledNotice(args[0] as StoredWebhook, String(args[1]), String(args[2]), Number(args[3]), () => "n1")) },
      currentVersion: () => "v3",
      now: () => now.t,
    } as unknown as WebhookDeps;
    const Ctor = WebhookRegistry as unknown as new (d: WebhookDeps, s: typeof store) => WebhookRegistry;
    return { r: new Ctor(deps, store), writes, drafts, notices, map };
  }

  it("records every change in the ledger before storing it, never with a secret, and drops expired secrets on write", async () => {
    const now = { t: T0 };
    const { r, writes, drafts, map } = registry(now);
    const c = await r.create(jd, "jd", { url: "https://hooks.example.com/px", eventTypes: ["TrackingEvent"], format: "json" });
    expect(c.secret).toMatch(/^whsec_/);
    expect(c.endpoint).toMatchObject({ party: "jd", status: "enabled", createdBy: "party:jd", secretIds: [webhookSecretId(c.secret)] });
    const id = c.endpoint.id;
    const rot = await r.rotate(jd, id);
    expect(rot.endpoint.secretIds).toEqual([webhookSecretId(rot.secret), webhookSecretId(c.secret)]);
    expect(r.targets()[0]!.secrets).toEqual([rot.secret, c.secret]);
    now.t += ROTATION_OVERLAP_MS;
    expect(r.targets()[0]!.secrets).toEqual([rot.secret]);
    await r.disable(regulator, id, "maintenance", false);
    expect(map.get(id)!.secrets.map((s) => s.secret)).toEqual([rot.secret]);
    expect(r.targets()).toEqual([]);
    expect((await r.disable(regulator, id, "again", false)).disabledReason).toBe("maintenance"); // unchanged, nothing recorded
    const en = await r.enable(jd, id);
    expect(en).not.toHaveProperty("disabledAt");
    expect(writes).toEqual([`ledger webhook.created`, `store ${id} @0`, `ledger webhook.secret_rotated`, `store ${id} @1`, `ledger webhook.disabled`, `store ${id} @2`, `ledger webhook.enabled`, `store ${id} @3`]);
    expect(drafts.map((d) => [d.type, d.actor, (d.body as { secretIds: string[] }).secretIds.length])).toEqual([
      ["webhook.created", "party:jd", 1],
      ["webhook.secret_rotated", "party:jd", 2],
      ["webhook.disabled", "regulator:x", 1],
      ["webhook.enabled", "party:jd", 1],
    ]);
    expect(drafts[2]!.body).toMatchObject({ reason: "maintenance", by: "regulator:x" });
    expect(JSON.stringify(drafts)).not.toContain("whsec_");
    await expect(r.rotate(jd, "ep_nope")).rejects.toThrow(NotFoundError);
  });

  it("tells the owner when the gateway disables an endpoint, and records the notice", async () => {
    const { r, drafts, notices } = registry({ t: T0 });
    const { endpoint } = await r.create(regulator, "taobao", { url: "https://hooks.example.com/tb", eventTypes: ["OrderCreated"], format: "epcis" });
    await r.disable(gateway, endpoint.id, "HTTP 410 Gone", true);
    expect(notices).toEqual([[expect.objectContaining({ id: endpoint.id, party: "taobao" }), "HTTP 410 Gone", "v3", T0]]);
    expect(drafts.at(-1)).toMatchObject({ type: "policy.notice", body: { webhook: endpoint.id, party: "taobao", summary: "Webhook endpoint https://hooks.example.com/tb disabled: HTTP 410 Gone" } });
    expect(webhookDisabledNotice(endpoint, "HTTP 410 Gone", "v3", T0, () => "n1")).toEqual({ noticeId: "n1", proposalId: `webhook:${endpoint.id}`, party: "taobao", proposedVersion: "v3", effectiveAt: T0, summary: "Webhook endpoint https://hooks.example.com/tb disabled: HTTP 410 Gone", changes: [] });
  });
});
