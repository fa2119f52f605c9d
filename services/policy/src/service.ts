/**
 * The policy service: a change is compiled and tested, its impact computed exactly and dry-run on recent
 * traffic, approved by the right people, held for its notice period when it reduces what a party receives,
 * then published as a signed, versioned bundle that every router applies. Everything is recorded in the
 * ledger.
 */
import { randomUUID } from "node:crypto";
import type { Kafka, Producer } from "kafkajs";
import { SchemaType } from "@kafkajs/confluent-schema-registry";
import {
  createRegistryClient,
  ensureTopics,
  HEADERS,
  idempotentProducer,
  parseBundle,
  PxError,
  schemaJsonFile,
  serializeBundle,
  signBundle,
  topics,
  type Config,
  type Logger,
  type PolicyBundle,
  type Signer,
  type Topics,
} from "../../shared/src/index.js";
import { buildBundle, makeBundle, publishBundle } from "../../policy-build/src/index.js";
import { PolicyEngine } from "../../decision/src/index.js";
import type { LedgerEntry, LedgerStore } from "../../ledger/src/index.js";
import { applyChange, contractSides, noticeMs, sourceOfBundle, touchesOnlyContracts, type PolicyChange } from "./change.js";
import { compileAndTest } from "./compile.js";
import { dryRun, sampleRecent, type DryRunReport } from "./dryrun.js";
import { compareEngines, type FieldChange, type Impact } from "./impact.js";
import { KafkaKv } from "./kv.js";
import { AuthError, type User } from "./users.js";
import { DeliveryCountsRecorder } from "./counts.js";

export type ProposalStatus = "proposed" | "scheduled" | "published" | "superseded";

export interface Approval {
  readonly by: string;
  readonly role: User["role"];
  readonly party?: string;
  readonly at: string;
  readonly immediate: boolean;
}

export interface Proposal {
  readonly id: string;
  readonly createdAt: string;
  readonly author: string;
  readonly description: string;
  readonly change: PolicyChange;
  readonly baseVersion: string;
  readonly proposedVersion: string;
  readonly requiredSides: readonly string[];
  readonly impact: Omit<Impact, "floorViolations">;
  readonly dryRun: DryRunReport;
  status: ProposalStatus;
  approvals: Approval[];
  effectiveAt?: string;
  publishedVersion?: string;
  publishedAt?: string;
}

/** A change that cannot become a proposal: it does not compile, its tests fail, or it breaches the floor. */
export class ChangeRejectedError extends PxError {
  readonly details: unknown;
  constructor(message: string, details: unknown) {
    super("CHANGE_REJECTED", `${message}; the policy in force is unchanged`);
    this.details = details;
  }
}

export class NotFoundError extends PxError {
  constructor(what: string) {
    super("NOT_FOUND", `${what} not found`);
  }
}

export class ConflictError extends PxError {
  constructor(message: string) {
    super("CONFLICT", message);
  }
}

export interface Evaluation {
  readonly bundle: PolicyBundle;
  readonly impact: Impact;
  readonly dryRun: DryRunReport;
  readonly tests: { passed: number; failed: number; coverage: number };
}

export interface ServiceDeps {
  readonly config: Config;
  readonly kafka: Kafka;
  readonly log: Logger;
  readonly signer: Signer;
  readonly ledger: LedgerStore;
  /** Clock, replaceable in tests. */
  readonly now?: () => number;
}

const CURRENT = "@current";

export class PolicyService {
  private readonly t: Topics;
  private readonly engines = new Map<string, PolicyEngine>();
  private timer: NodeJS.Timeout | undefined;
  private noticeProducer: Producer | undefined;
  private noticeSchemaId: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private counts: DeliveryCountsRecorder | undefined;
  private countsTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly d: ServiceDeps,
    private readonly versions: KafkaKv<string>,
    private readonly proposals: KafkaKv<Proposal>,
  ) {
    this.t = topics(d.config.topicPrefix);
  }

  static async start(d: ServiceDeps): Promise<PolicyService> {
    const t = topics(d.config.topicPrefix);
    const versions = await KafkaKv.open<string>(d.kafka, d.config, t.policyVersions);
    const proposals = await KafkaKv.open<Proposal>(d.kafka, d.config, t.policyProposals);
    const s = new PolicyService(d, versions, proposals);
    if (versions.get(CURRENT) === undefined) {
      // First start: the repository's policies/ become version 1.
      const b = signBundle(await buildBundle(d.config.opaBin, { label: "v1" }), d.signer);
      await s.publish(b, "policy-service", { initial: true });
    }
    s.noticeProducer = idempotentProducer(d.kafka);
    await s.noticeProducer.connect();
    s.timer = setInterval(() => void s.serial(() => s.publishDue()).catch((err: unknown) => d.log.error({ err }, "scheduled publication failed")), 250);
    s.counts = new DeliveryCountsRecorder(d.kafka, d.config, d.ledger, d.log, () => s.now());
    await s.counts.start();
    s.countsTimer = setInterval(() => void s.serial(() => s.recordDeliveryCounts()).catch((err: unknown) => d.log.error({ err }, "delivery counts not recorded")), 5_000);
    return s;
  }

  /** Appends the per-minute delivery counts that are due to the ledger. */
  recordDeliveryCounts(): Promise<string[]> {
    return this.counts ? this.counts.appendDue() : Promise.resolve([]);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.countsTimer) clearInterval(this.countsTimer);
    await this.counts?.stop();
    await this.queue.catch(() => undefined);
    await this.noticeProducer?.disconnect();
    await this.versions.close();
    await this.proposals.close();
  }

  private now(): number {
    return (this.d.now ?? Date.now)();
  }

  /** State changes run one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  currentVersion(): string {
    return this.versions.get(CURRENT)!;
  }

  bundle(version: string): PolicyBundle {
    const raw = this.versions.get(version);
    if (raw === undefined) throw new NotFoundError(`policy version ${version}`);
    return parseBundle(Buffer.from(raw));
  }

  private async engine(b: PolicyBundle): Promise<PolicyEngine> {
    let e = this.engines.get(b.version);
    if (!e) this.engines.set(b.version, (e = await PolicyEngine.load(b, 1000)));
    return e;
  }

  // ---------------------------------------------------------------- evaluation (no state change)

  /** Compiles and tests the change on top of the version in force, then computes its impact and dry run. */
  async evaluate(change: PolicyChange, label?: string): Promise<Evaluation> {
    const base = this.bundle(this.currentVersion());
    const src = applyChange(sourceOfBundle(base), change);
    const out = await compileAndTest(this.d.config.opaBin, src);
    if (!out.ok || !out.wasm) throw new ChangeRejectedError("the proposed policy does not compile or its tests fail", { compiler: out.error, tests: out.tests });
    const n = this.versions.values().length; // versions + current pointer
    const bundle = makeBundle(out.wasm, src.data, label ?? `v${n}`, { ...src.rego });
    const [cur, next] = await Promise.all([this.engine(base), this.engine(bundle)]);
    const impact = compareEngines(cur, next);
    const sample = await sampleRecent(this.d.kafka, this.d.config, this.d.config.policyService.dryRunEvents);
    return { bundle, impact, dryRun: dryRun(cur, next, sample), tests: { passed: out.tests!.passed, failed: out.tests!.failed, coverage: out.tests!.coverage } };
  }

  // ---------------------------------------------------------------- proposals

  async propose(user: User, change: PolicyChange, description: string): Promise<Proposal> {
    if (user.role === "viewer") throw new AuthError(403, `${user.id} is a viewer and may not propose changes`);
    const base = this.bundle(this.currentVersion());
    const sides = contractSides(sourceOfBundle(base), change);
    if (user.role === "party") {
      if (!touchesOnlyContracts(change)) throw new AuthError(403, `${user.id} may change only contracts; rules and parties are the regulator's`);
      const contracts = Object.keys(change.contracts ?? {});
      if (contracts.length === 0) throw new AuthError(403, `${user.id}: the change touches no contract`);
      const before = base.data.contracts as Record<string, { parties: string[] } | undefined>;
      for (const id of contracts) {
        const parties = new Set([...(before[id]?.parties ?? []), ...(change.contracts![id]?.parties ?? [])]);
        if (!parties.has(user.party!)) throw new AuthError(403, `${user.id} is not a side of contract ${id}`);
      }
    }
    return this.serial(async () => {
      let ev: Evaluation;
      try {
        ev = await this.evaluate(change);
      } catch (err) {
        if (err instanceof ChangeRejectedError) await this.d.ledger.append({ type: "policy.rejected", actor: user.id, body: { description, reason: err.message, details: err.details } });
        throw err;
      }
      if (ev.impact.floorViolations.length > 0) {
        const err = new ChangeRejectedError("the change would withhold what the regulator's floor guarantees", { floorViolations: ev.impact.floorViolations });
        await this.d.ledger.append({ type: "policy.rejected", actor: user.id, body: { description, reason: err.message, details: err.details } });
        throw err;
      }
      const { floorViolations: _f, ...impact } = ev.impact;
      const p: Proposal = {
        id: `prop-${randomUUID().slice(0, 8)}`,
        createdAt: new Date(this.now()).toISOString(),
        author: user.id,
        description,
        change,
        baseVersion: base.version,
        proposedVersion: ev.bundle.version,
        requiredSides: [...sides].sort(),
        impact,
        dryRun: ev.dryRun,
        status: "proposed",
        approvals: [{ by: user.id, role: user.role, ...(user.party ? { party: user.party } : {}), at: new Date(this.now()).toISOString(), immediate: false }],
      };
      await this.versions.put(ev.bundle.version, serializeBundle(ev.bundle).toString());
      await this.proposals.put(p.id, p);
      await this.d.ledger.append({ type: "policy.proposed", actor: user.id, body: { proposal: p.id, description, baseVersion: p.baseVersion, proposedVersion: p.proposedVersion, change, reductions: impact.reductions, expansions: impact.expansions, dryRun: p.dryRun.lines.slice(0, 50).map((l) => l.text) } });
      return this.advance(p);
    });
  }

  proposal(id: string): Proposal {
    const p = this.proposals.get(id);
    if (!p) throw new NotFoundError(`proposal ${id}`);
    return p;
  }

  listProposals(): Proposal[] {
    return this.proposals.values().sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async approve(user: User, id: string, immediate = false): Promise<Proposal> {
    return this.serial(async () => {
      const p = this.proposal(id);
      if (user.role === "viewer") throw new AuthError(403, `${user.id} is a viewer and may not approve`);
      if (user.role === "party" && !p.requiredSides.includes(user.party!)) throw new AuthError(403, `${user.id} is not a side of the contracts this proposal changes`);
      if (immediate && user.role !== "regulator") throw new AuthError(403, `only a regulator may give a change immediate effect`);
      if (p.status === "published" || p.status === "superseded") throw new ConflictError(`proposal ${id} is already ${p.status}`);
      p.approvals = [...p.approvals.filter((a) => a.by !== user.id), { by: user.id, role: user.role, ...(user.party ? { party: user.party } : {}), at: new Date(this.now()).toISOString(), immediate }];
      await this.proposals.put(p.id, p);
      await this.d.ledger.append({ type: "policy.approved", actor: user.id, body: { proposal: p.id, immediate } });
      if (p.status === "scheduled" && immediate) return this.publishProposal(p, user.id);
      return this.advance(p);
    });
  }

  /** A regulator puts an approved or scheduled proposal into effect now. */
  async apply(user: User, id: string): Promise<Proposal> {
    if (user.role !== "regulator") throw new AuthError(403, `only a regulator may apply a change before its notice period ends`);
    return this.approve(user, id, true);
  }

  private approved(p: Proposal): boolean {
    if (p.approvals.some((a) => a.role === "regulator")) return true;
    return p.requiredSides.length > 0 && p.requiredSides.every((side) => p.approvals.some((a) => a.role === "party" && a.party === side));
  }

  private async advance(p: Proposal): Promise<Proposal> {
    if (p.status !== "proposed" || !this.approved(p)) return p;
    const immediate = p.approvals.some((a) => a.role === "regulator" && a.immediate);
    if (p.impact.reductions.length === 0 || immediate) return this.publishProposal(p, p.approvals[p.approvals.length - 1]!.by);
    // A reduction waits for the longest notice period among the contracts it concerns; the parties are told.
    const base = sourceOfBundle(this.bundle(p.baseVersion));
    const wait = Math.max(0, ...p.impact.reductions.flatMap((r) => (r.contracts.length ? r.contracts.map((c) => noticeMs(base, c)) : [0])));
    p.status = "scheduled";
    p.effectiveAt = new Date(this.now() + wait).toISOString();
    await this.proposals.put(p.id, p);
    await this.d.ledger.append({ type: "policy.scheduled", actor: "policy-service", body: { proposal: p.id, effectiveAt: p.effectiveAt, noticeMs: wait } });
    await this.notify(p);
    if (wait === 0) return this.publishProposal(p, "policy-service");
    return p;
  }

  private async notify(p: Proposal): Promise<void> {
    const byParty = new Map<string, FieldChange[]>();
    for (const r of p.impact.reductions) byParty.set(r.party, [...(byParty.get(r.party) ?? []), r]);
    if (this.noticeSchemaId === undefined) {
      const { id } = await createRegistryClient(this.d.config).register({ type: SchemaType.AVRO, schema: JSON.stringify(schemaJsonFile("PolicyNotice")) }, { subject: this.t.noticeSubject });
      this.noticeSchemaId = id;
    }
    const registry = createRegistryClient(this.d.config);
    const admin = this.d.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, this.d.config, [...byParty.keys()].map((party) => ({ topic: this.t.deliver(party) })));
    } finally {
      await admin.disconnect();
    }
    for (const [party, changes] of byParty) {
      const lines = changes.map((c) => (c.field === "(delivery)" ? `${c.eventType}: no longer delivered (${c.cases} cases)` : `${c.eventType}.${c.field}: ${c.from} → ${c.to} (${c.cases} cases)`));
      const notice = { noticeId: randomUUID(), proposalId: p.id, party, proposedVersion: p.proposedVersion, effectiveAt: Date.parse(p.effectiveAt!), summary: `${p.description} — takes effect ${p.effectiveAt}`, changes: lines };
      const value = await registry.encode(this.noticeSchemaId, notice);
      await this.noticeProducer!.send({ topic: this.t.deliver(party), acks: -1, messages: [{ key: `notice:${p.id}`, value, headers: { [HEADERS.notice]: "1", [HEADERS.policyVersion]: this.currentVersion() } }] });
      await this.d.ledger.append({ type: "policy.notice", actor: "policy-service", body: { proposal: p.id, party, effectiveAt: p.effectiveAt, changes: lines } });
    }
  }

  private async publishDue(): Promise<void> {
    for (const p of this.proposals.values()) {
      if (p.status === "scheduled" && p.effectiveAt && Date.parse(p.effectiveAt) <= this.now()) await this.publishProposal(p, "policy-service");
    }
  }

  private async publishProposal(p: Proposal, by: string): Promise<Proposal> {
    let bundle = this.bundle(p.proposedVersion);
    if (p.baseVersion !== this.currentVersion()) {
      // The policy moved on since the proposal: apply the same change to what is in force now.
      const ev = await this.evaluate(p.change);
      if (ev.impact.floorViolations.length > 0) throw new ChangeRejectedError("rebased on the policy in force, the change would breach the floor", { floorViolations: ev.impact.floorViolations });
      bundle = ev.bundle;
      await this.versions.put(bundle.version, serializeBundle(bundle).toString());
    }
    const signed = signBundle(bundle, this.d.signer);
    await this.publish(signed, by, { proposal: p.id, description: p.description, author: p.author, approvals: p.approvals.map((a) => a.by), reductions: p.impact.reductions.length, expansions: p.impact.expansions.length, dryRun: p.dryRun.lines.slice(0, 20).map((l) => l.text) });
    p.status = "published";
    p.publishedVersion = signed.version;
    p.publishedAt = new Date(this.now()).toISOString();
    await this.proposals.put(p.id, p);
    return p;
  }

  private async publish(bundle: PolicyBundle, by: string, body: Record<string, unknown>): Promise<void> {
    await this.versions.put(bundle.version, serializeBundle(bundle).toString());
    await publishBundle(this.d.kafka, this.d.config, bundle);
    const previous = this.versions.get(CURRENT);
    await this.versions.put(CURRENT, bundle.version);
    await this.d.ledger.append({ type: "policy.published", actor: by, body: { version: bundle.version, previous: previous ?? null, ...body } });
    this.d.log.info({ version: bundle.version, by }, "policy published");
  }

  // ---------------------------------------------------------------- rollback and history

  async rollback(user: User, version: string): Promise<string> {
    if (user.role !== "regulator") throw new AuthError(403, `only a regulator may roll back`);
    return this.serial(async () => {
      const b = this.bundle(version);
      const from = this.currentVersion();
      const signed = b.signature ? b : signBundle(b, this.d.signer);
      await publishBundle(this.d.kafka, this.d.config, signed);
      await this.versions.put(CURRENT, signed.version);
      await this.d.ledger.append({ type: "policy.rolled_back", actor: user.id, body: { from, to: signed.version } });
      return signed.version;
    });
  }

  ledgerEntries(): Promise<LedgerEntry[]> {
    return this.d.ledger.readAll();
  }

  async history(): Promise<HistoryItem[]> {
    const entries = await this.d.ledger.readAll();
    return historyOf(entries);
  }
}

export interface HistoryItem {
  readonly version: string;
  readonly kind: "published" | "rolled_back";
  readonly at: string;
  readonly by: string;
  readonly previous: string | null;
  readonly summary: Record<string, unknown>;
}

export function historyOf(entries: readonly LedgerEntry[]): HistoryItem[] {
  const out: HistoryItem[] = [];
  for (const e of entries) {
    const body = e.body as Record<string, unknown>;
    if (e.type === "policy.published") out.push({ version: String(body.version), kind: "published", at: e.at, by: e.actor, previous: (body.previous as string | null) ?? null, summary: body });
    if (e.type === "policy.rolled_back") out.push({ version: String(body.to), kind: "rolled_back", at: e.at, by: e.actor, previous: String(body.from), summary: body });
  }
  return out;
}
