/**
 * The web console in a real browser (Debian's Chromium driven by playwright-core) against a real policy
 * service on the secured stack: a regulator reads Hive Box's proposal and its dry run, approves it for
 * immediate effect, and the matrix then shows Taobao's pickup code as dropped; a party that is not a side
 * cannot see or call the approval; a viewer sees and changes nothing; a forged ledger entry is shown as such;
 * the live flow comes from a real Prometheus scraping the services. Screenshots of every page are saved under
 * test-output/console/ for a person to look at.
 */
import { createServer, type Server } from "node:http";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { createKafka, createLogger, type Config } from "@parcel-exchange/shared";
import { ledgerTopic, nextEntry, type LedgerEntry } from "@parcel-exchange/ledger";
import { PartyPublisher } from "@parcel-exchange/sdk";
import { hiveBoxNarrowsTaobao } from "@parcel-exchange/demo";
import type { Contract, Proposal } from "@parcel-exchange/policy";
import { L1, L2 } from "./fixtures.js";
import { startPolicyService, startRouter, type RunningPolicyService, type RunningRouter } from "./harness.js";
import { startConsole, startLocalPrometheus, type LocalPrometheus, type RunningConsole } from "@parcel-exchange/console";
import { ROOT, testConfig, until } from "./helpers.js";

const KEYS = { regulator: "px-dev-key-regulator-spb", taobao: "px-dev-key-taobao", zto: "px-dev-key-zto", hivebox: "px-dev-key-hive-box", viewer: "px-dev-key-viewer" } as const;
const SHOTS = join(ROOT, "test-output", "console");
const CHROMIUM = process.env.PX_CHROMIUM ?? "/usr/bin/chromium";

// At load time, so that the provisioning setup gives this deployment its schemas and ingress topics.
const config: Config = testConfig("console", { PX_DRY_RUN_EVENTS: "1000" });
let policy: RunningPolicyService;
let router: RunningRouter;
let routerMetrics: Server;
let prom: LocalPrometheus;
let consoleApp: RunningConsole;
let browser: Browser;
let proposal: Proposal;

async function api(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${policy.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text };
}

async function signedIn(key: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  page.on("dialog", (d) => void d.accept());
  await page.goto(`${consoleApp.url}/signin`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/matrix/);
  return { ctx, page };
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const pickupCell = (page: Page) => page.locator('td[data-party="taobao"][data-type="LockerEvent"][data-field="pickupCode"]');

/** A POST to the console as the page's own session would send it (with its CSRF token): what a user gets by calling the route directly. */
async function consolePost(page: Page, path: string, form: Record<string, string>): Promise<number> {
  const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
  const res = await page.request.post(`${consoleApp.url}${path}`, { form: { _csrf: csrf, ...form }, maxRedirects: 0, headers: { origin: consoleApp.url } });
  return res.status();
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  policy = await startPolicyService(config);
  router = await startRouter(config);
  routerMetrics = createServer((_req, res) => {
    void router.registry.metrics().then((m) => res.writeHead(200, { "content-type": router.registry.contentType }).end(m));
  });
  await new Promise<void>((r) => routerMetrics.listen(0, "127.0.0.1", r));
  const routerAddr = `127.0.0.1:${(routerMetrics.address() as { port: number }).port}`;
  prom = await startLocalPrometheus([
    { job: "router", address: routerAddr },
    { job: "policy", address: new URL(policy.url).host },
  ]);
  // Traffic, so the dry run has events and the live flow has deliveries.
  const hb = await PartyPublisher.connect({ party: "hive-box", config });
  await hb.publishMany(Array.from({ length: 40 }, (_, i) => ({ type: "LockerEvent" as const, event: { ...(i % 4 === 0 ? L2 : L1), eventId: `console-${i}` } })));
  await hb.disconnect();
  await until("the router to deliver", () => (router.metrics.delivered.get().then((m) => m.values.reduce((n, v) => n + v.value, 0) >= 40 || undefined)), 60_000);
  consoleApp = await startConsole({ ...config, console: { ...config.console, prometheusUrl: prom.url } }, { policyUrl: policy.url, port: 0, log: createLogger("console-test", "warn") });
  const contract = structuredClone((policy.service.bundle(policy.service.currentVersion()).data.contracts as Record<string, Contract>)["hive-box--taobao"]!);
  const r = await api(KEYS.hivebox, "POST", "/v1/proposals", { change: { contracts: { "hive-box--taobao": hiveBoxNarrowsTaobao(contract) } }, description: "Hive Box: pickup codes and non-Taobao locker events are not Cainiao's" });
  expect(r.status).toBe(201);
  proposal = r.body as Proposal;
  expect(proposal.status).toBe("proposed");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await consoleApp?.stop();
  await prom?.stop();
  routerMetrics?.close();
  await router?.stop();
  await policy?.stop();
});

describe("the console in a browser", () => {
  it("refuses a wrong key, and shows a party only what concerns it, with no approval it may not give", async () => {
    const anon = await browser.newContext();
    const p = await anon.newPage();
    await p.goto(`${consoleApp.url}/proposals`);
    expect(new URL(p.url()).pathname).toBe("/signin");
    await shot(p, "signin");
    await p.getByLabel("API key").fill("px-not-a-key");
    await p.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => p.getByRole("alert").textContent()).toContain("not accepted");
    await anon.close();

    // ZTO is no side of hive-box--taobao: the proposal is not listed, not shown, and its approval is refused by the console and by the API.
    const zto = await signedIn(KEYS.zto);
    await zto.page.goto(`${consoleApp.url}/proposals`);
    await expect.poll(() => zto.page.locator(`tr[data-proposal="${proposal.id}"]`).count()).toBe(0);
    const resp = await zto.page.goto(`${consoleApp.url}/proposals/${proposal.id}`);
    expect(resp?.status()).toBe(404);
    expect(await zto.page.getByRole("button", { name: /Approve/ }).count()).toBe(0);
    expect(await consolePost(zto.page, `/proposals/${proposal.id}/approve`, {})).toBe(403);
    expect((await api(KEYS.zto, "POST", `/v1/proposals/${proposal.id}/approve`, {})).status).toBe(403);
    // Nor can ZTO read it through the API: not listed, and 404 as if it did not exist.
    expect((await api(KEYS.zto, "GET", `/v1/proposals/${proposal.id}`)).status).toBe(404);
    expect(((await api(KEYS.zto, "GET", "/v1/proposals")).body as Proposal[]).map((p) => p.id)).not.toContain(proposal.id);
    expect(((await api(KEYS.taobao, "GET", "/v1/proposals")).body as Proposal[]).map((p) => p.id)).toContain(proposal.id);
    // Its matrix holds what ZTO receives, and what others receive of ZTO's own tracking events only.
    await zto.page.goto(`${consoleApp.url}/matrix`);
    const shown = await zto.page.locator("td[data-party]:not(.empty)").evaluateAll((tds) => tds.map((td) => `${td.getAttribute("data-party")}|${td.getAttribute("data-type")}`));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.filter((k) => !k.startsWith("zto|") && !k.endsWith("|TrackingEvent"))).toEqual([]);
    expect(shown.some((k) => k.startsWith("zto|LockerEvent"))).toBe(true);
    expect((await api(KEYS.zto, "GET", `/v1/policy/versions/${proposal.baseVersion}/matrix`)).body.scope).toEqual({ party: "zto" });
    await zto.ctx.close();

    // Taobao is a side: it may approve or reject, but not give immediate effect nor apply.
    const tb = await signedIn(KEYS.taobao);
    await tb.page.goto(`${consoleApp.url}/proposals/${proposal.id}`);
    await expect.poll(() => tb.page.getByRole("button", { name: "Approve", exact: true }).count()).toBe(1);
    expect(await tb.page.getByRole("button", { name: "Approve with immediate effect" }).count()).toBe(0);
    expect(await tb.page.getByRole("button", { name: "Apply now" }).count()).toBe(0);
    expect(await tb.page.getByRole("button", { name: "Reject" }).count()).toBe(1);
    // Calling the immediate approval directly is refused with the policy service's 403, and nothing changed.
    expect(await consolePost(tb.page, `/proposals/${proposal.id}/approve`, { immediate: "true" })).toBe(403);
    expect((await api(KEYS.regulator, "GET", `/v1/proposals/${proposal.id}`)).body.status).toBe("proposed");

    // A second proposal on the same contract, turned down by Taobao in the browser: rejected for good and in the ledger.
    const contract = structuredClone((policy.service.bundle(policy.service.currentVersion()).data.contracts as Record<string, Contract>)["hive-box--taobao"]!);
    const second = (await api(KEYS.hivebox, "POST", "/v1/proposals", { change: { contracts: { "hive-box--taobao": hiveBoxNarrowsTaobao(contract) } }, description: "Hive Box: a second try Taobao turns down" })).body as Proposal;
    await tb.page.goto(`${consoleApp.url}/proposals/${second.id}`);
    await tb.page.getByLabel("Reason for rejecting").fill("Taobao needs pickup codes for its own buyers");
    await tb.page.getByRole("button", { name: "Reject" }).click();
    await tb.page.waitForURL(/done=rejected/);
    expect(await tb.page.getByTestId("status").textContent()).toBe("rejected");
    const rejected = (await api(KEYS.regulator, "GET", `/v1/proposals/${second.id}`)).body as Proposal;
    expect(rejected.status).toBe("rejected");
    expect(rejected.rejection).toMatchObject({ by: expect.stringContaining("taobao"), reason: "Taobao needs pickup codes for its own buyers" });
    // It can be neither approved nor rejected again, by anyone.
    expect((await api(KEYS.regulator, "POST", `/v1/proposals/${second.id}/approve`, { immediate: true })).status).toBe(409);
    expect((await api(KEYS.hivebox, "POST", `/v1/proposals/${second.id}/reject`, { reason: "again" })).status).toBe(409);
    const ledger = (await api(KEYS.regulator, "GET", "/v1/ledger")).body as LedgerEntry[];
    expect(ledger.some((e) => e.type === "policy.proposal_rejected" && (e.body as { proposal?: string }).proposal === second.id)).toBe(true);
    await tb.ctx.close();
  });

  it("lets a viewer see everything and change nothing", async () => {
    const v = await signedIn(KEYS.viewer);
    await expect.poll(() => v.page.locator("table.matrix").count()).toBeGreaterThan(0);
    expect(await v.page.locator('form[method="post"]:not([action="/signout"])').count()).toBe(0);
    await v.page.goto(`${consoleApp.url}/proposals/${proposal.id}`);
    await expect.poll(() => v.page.getByTestId("no-actions").textContent()).toContain("Viewers read only");
    expect(await v.page.locator('form[method="post"]:not([action="/signout"])').count()).toBe(0);
    expect(await consolePost(v.page, `/proposals/${proposal.id}/approve`, {})).toBe(403);
    expect(await consolePost(v.page, `/proposals/${proposal.id}/reject`, { reason: "viewer" })).toBe(403);
    expect(await consolePost(v.page, "/rollback", { version: "v1" })).toBe(403);
    expect((await api(KEYS.viewer, "POST", `/v1/proposals/${proposal.id}/approve`, {})).status).toBe(403);
    // A form without the session's CSRF token is refused before anything is called.
    const res = await v.page.request.post(`${consoleApp.url}/proposals/${proposal.id}/approve`, { form: { _csrf: "forged" }, maxRedirects: 0 });
    expect(res.status()).toBe(403);
    await v.ctx.close();
    expect((await api(KEYS.regulator, "GET", `/v1/proposals/${proposal.id}`)).body.status).toBe("proposed");
  });

  it("lets a regulator read Hive Box's proposal and dry run, approve it with immediate effect, and see Taobao's pickup code dropped", async () => {
    const { ctx, page } = await signedIn(KEYS.regulator);
    const before = await pickupCell(page).getAttribute("data-actions");
    expect(before).toContain("keep");
    await shot(page, "matrix-before");

    await page.getByRole("link", { name: "Proposals" }).click();
    await page.getByRole("link", { name: proposal.description }).click();
    await page.waitForURL(new RegExp(`/proposals/${proposal.id}$`));
    const dry = await page.getByTestId("dry-run").textContent();
    expect(dry).toMatch(/\d+ recent events replayed/);
    expect(dry).toContain("pickupCode");
    await expect.poll(() => page.locator("#reductions + .scroll td", { hasText: "pickupCode" }).count()).toBeGreaterThan(0);
    await shot(page, "proposal");

    await page.getByRole("button", { name: "Approve with immediate effect" }).click();
    await page.waitForURL(/done=approved/);
    expect(await page.getByTestId("status").textContent()).toBe("published");
    const published = (await api(KEYS.regulator, "GET", `/v1/proposals/${proposal.id}`)).body as Proposal;
    expect(published.publishedVersion).toBe((await api(KEYS.regulator, "GET", "/v1/policy/current")).body.version);

    await page.getByRole("link", { name: "Who receives what" }).click();
    await expect.poll(() => page.getByTestId("matrix-version").textContent()).toContain(`${published.publishedVersion} · in force`);
    const after = ((await pickupCell(page).getAttribute("data-actions")) ?? "").split(",");
    expect(after).toContain("drop");
    expect(after.filter((a) => a !== "drop" && a !== "(not delivered)")).toEqual([]);
    await shot(page, "matrix");
    // The earlier version is still there to look at, with the pickup code as it was.
    await page.getByLabel("Policy version").selectOption(proposal.baseVersion);
    await page.waitForURL((u) => u.searchParams.get("version") === proposal.baseVersion);
    expect(await pickupCell(page).getAttribute("data-actions")).toBe(before);

    await page.goto(`${consoleApp.url}/proposals`);
    await shot(page, "proposals");
    await ctx.close();
  });

  it("shows the live flow from Prometheus: deliveries per party, dead letters, and the version each router applies", async () => {
    const { ctx, page } = await signedIn(KEYS.regulator);
    await page.goto(`${consoleApp.url}/live`);
    await expect.poll(async () => {
      await page.reload();
      return page.locator('#live-data tr[data-party="taobao"]').count();
    }, { timeout: 60_000, interval: 2_000 }).toBe(1);
    await expect.poll(() => page.locator("#live-data tr[data-router]").count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await shot(page, "live");
    await ctx.close();
    // A party sees only its own deliveries.
    const tb = await signedIn(KEYS.taobao);
    await tb.page.goto(`${consoleApp.url}/live`);
    const parties = await tb.page.locator("#live-data tr[data-party]").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-party")));
    expect(parties).toEqual(["taobao"]);
    expect(await tb.page.locator("#l-dl").count()).toBe(0);
    await tb.ctx.close();
  }, 180_000);

  it("shows the ledger verified, and an entry forged into the ledger topic as failing its check", async () => {
    const { ctx, page } = await signedIn(KEYS.regulator);
    await page.getByRole("link", { name: "Ledger" }).click();
    await expect.poll(() => page.getByTestId("ledger-verdict").textContent()).toContain("The chain verifies");
    expect(await page.locator('tr[data-check="failed"]').count()).toBe(0);
    await shot(page, "ledger");

    const entries = await policy.ledger.readAll();
    const head = entries[entries.length - 1]!;
    const { generateKeyPairSync, sign } = await import("node:crypto");
    const { privateKey } = generateKeyPairSync("ed25519");
    // Hash and link are right; only the signature is not the policy service's.
    const forged: LedgerEntry = nextEntry(head, { type: "policy.approved", actor: "regulator:spb", body: { proposal: "prop-forged", immediate: true } }, { keyId: head.keyId, sign: (d) => sign(null, Buffer.from(d), privateKey).toString("base64") });
    const producer = createKafka(config, createLogger("console-test", "warn")).producer();
    await producer.connect();
    await producer.send({ topic: ledgerTopic(config.topicPrefix), acks: -1, messages: [{ key: String(forged.seq), value: JSON.stringify(forged) }] });
    await producer.disconnect();

    await expect.poll(async () => {
      await page.reload();
      return page.locator(`tr[data-seq="${forged.seq}"]`).getAttribute("data-check");
    }, { timeout: 30_000, interval: 1_000 }).toBe("failed");
    expect(await page.getByTestId("ledger-verdict").textContent()).toContain("does not verify");
    expect(await page.locator(`tr[data-seq="${forged.seq}"] .badge-bad`).textContent()).toContain("bad_signature");
    await shot(page, "ledger-tampered");
    await ctx.close();
  }, 120_000);
});
