/**
 * The policy service: a change is compiled and tested, its impact computed exactly and dry-run on recent
 * traffic, approved by the right people, held for its notice period when it reduces what a party receives,
 * then published as a signed, versioned bundle that every router applies. Everything is recorded in the
 * ledger.
 *
 * This class puts the parts together: it checks who may act (authz.ts), runs state changes one at a time
 * through the workflow (workflow.ts), the versions (versions.ts) and the webhook endpoints (webhooks.ts), and
 * runs the timers that publish proposals whose notice has ended and record delivery counts.
 */
import type { Kafka } from "kafkajs";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Config, Logger, PolicyBundle, Signer, Verifier } from "@parcel-exchange/shared";
import { buildBundle } from "@parcel-exchange/policy-build";
import type { LedgerEntry, LedgerStore } from "@parcel-exchange/ledger";
import { verifyChain } from "@parcel-exchange/ledger";
import type { CreateWebhookRequest, HistoryItem, LedgerCheck, PolicyChange, PolicyMatrix, Proposal, WebhookEndpoint, WebhookSecretResponse, WebhookTarget } from "./api.js";
import { authorizeApply, authorizeApprove, authorizePropose, authorizeReject, authorizeRollback, mayReadProposal, type ContractsInForce } from "./authz.js";
import { NotFoundError } from "./errors.js";
import { DeliveryCountsRecorder } from "./counts.js";
import { Evaluator, type Evaluation } from "./evaluate.js";
import { historyOf } from "./history.js";
import { NoticePublisher } from "./notices.js";
import { LedgerIndex, type StateRefusedError } from "./state.js";
import { every, SerialQueue, type Repeating } from "./timers.js";
import type { User } from "./users.js";
import { PolicyVersions } from "./versions.js";
import { authorizeWebhookAction, visibleWebhooks, webhookOwner } from "./webhook-authz.js";
import { WebhookRegistry } from "./webhooks.js";
import { ProposalWorkflow } from "./workflow.js";

export type { Evaluation };

export interface ServiceDeps {
  readonly config: Config;
  readonly kafka: Kafka;
  readonly log: Logger;
  readonly signer: Signer;
  /** The policy service's public key: its own stored state is verified with it at start. */
  readonly verifier: Verifier;
  readonly ledger: LedgerStore;
  /** Where px_policy_state_refused_total and px_policy_release_sequence are registered. */
  readonly metrics: Registry;
  /** Clock, replaceable in tests. */
  readonly now?: () => number;
}

/** How often scheduled proposals are checked, and delivery counts recorded. */
const PUBLISH_DUE_MS = 250;
const COUNTS_MS = 5_000;
const MATRICES_KEPT = 16;

export class PolicyService {
  private readonly queue = new SerialQueue();
  private readonly timers: Repeating[] = [];
  /** Matrices by version and scope (the last MATRICES_KEPT asked for). */
  private readonly matrices = new Map<string, Promise<Omit<PolicyMatrix, "version" | "inForce" | "scope">>>();

  private constructor(
    private readonly d: ServiceDeps,
    private readonly versions: PolicyVersions,
    private readonly workflow: ProposalWorkflow,
    private readonly notices: NoticePublisher,
    private readonly counts: DeliveryCountsRecorder,
    private readonly evaluator: Evaluator,
    private readonly webhooks: WebhookRegistry,
    /** Stored records refused at start-up (forged, moved, replayed or out of step with the ledger). */
    readonly refusedState: readonly StateRefusedError[],
  ) {}

  static async start(d: ServiceDeps): Promise<PolicyService> {
    const now = d.now ?? Date.now;
    const refusedCounter = new Counter({ name: "px_policy_state_refused_total", help: "Stored policy-service records refused at start-up because they do not verify", labelNames: ["store"], registers: [d.metrics] });
    const refused: StateRefusedError[] = [];
    const onRefused = (err: StateRefusedError) => {
      refused.push(err);
      refusedCounter.inc({ store: err.store });
      d.log.error({ err, store: err.store, key: err.key }, "stored policy state refused");
    };
    // The ledger was verified (hash chain and signatures) when it was opened; the rest of the state is checked against it.
    const index = new LedgerIndex(await d.ledger.readAll());
    const versions = await PolicyVersions.open({ ...d, index, onRefused });
    if (!versions.hasCurrent()) {
      // First start (the ledger has never put a version in force): the repository's policies/ become version 1.
      await versions.publish(await buildBundle(d.config.opaBin, { label: "v1" }), "policy-service", { initial: true });
    }
    // Read at each scrape: the sequence in force from start-up on, and each release (publish, rollback) as it is sent.
    new Gauge({ name: "px_policy_release_sequence", help: "Release sequence of the policy version in force, as last sent to the routers (compare with px_router_policy_sequence)", registers: [d.metrics], collect() { this.set(versions.sequence()); } });
    const notices = await NoticePublisher.connect(d.kafka, d.config);
    const evaluator = new Evaluator(d.config, d.kafka);
    const workflow = await ProposalWorkflow.open({ ...d, index, onRefused, versions, evaluator, notices, now });
    const webhooks = await WebhookRegistry.open({ ...d, index, onRefused, notices, currentVersion: () => versions.current(), now });
    const counts = new DeliveryCountsRecorder(d.kafka, d.config, d.ledger, d.log, now);
    await counts.start();
    const s = new PolicyService(d, versions, workflow, notices, counts, evaluator, webhooks, refused);
    s.timers.push(
      every(PUBLISH_DUE_MS, () => s.queue.run(() => workflow.publishDue()), (err) => d.log.error({ err }, "scheduled publication failed")),
      every(COUNTS_MS, () => s.recordDeliveryCounts(), (err) => d.log.error({ err }, "delivery counts not recorded")),
    );
    return s;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) t.stop();
    await this.counts.stop();
    await this.queue.drain();
    await this.notices.close();
    await this.workflow.close();
    await this.webhooks.close();
    await this.versions.close();
    await this.evaluator.close();
  }

  /** Appends the per-minute delivery counts that are due to the ledger. */
  recordDeliveryCounts(): Promise<string[]> {
    return this.queue.run(() => this.counts.appendDue());
  }

  // ---------------------------------------------------------------- reading

  currentVersion(): string {
    return this.versions.current();
  }

  bundle(version: string): PolicyBundle {
    return this.versions.bundle(version);
  }

  proposal(id: string): Proposal {
    return this.workflow.proposal(id);
  }

  listProposals(): Proposal[] {
    return this.workflow.list();
  }

  /** The proposals a user may read (authz.ts mayReadProposal): a party's contracts' and its own; all for others. */
  visibleProposals(user: User): Proposal[] {
    return this.workflow.list().filter((p) => mayReadProposal(user, p));
  }

  /** One proposal, for a user who may read it; another party's answers as if it did not exist. */
  proposalFor(user: User, id: string): Proposal {
    const p = this.workflow.proposal(id);
    if (!mayReadProposal(user, p)) throw new NotFoundError(`proposal ${id}`);
    return p;
  }

  ledgerEntries(): Promise<LedgerEntry[]> {
    return this.d.ledger.readAll();
  }

  async history(): Promise<HistoryItem[]> {
    return historyOf(await this.d.ledger.readAll());
  }

  /**
   * Who receives what under `version`: every recipient for regulators and viewers, for a party only what
   * concerns it (what it receives, and what others receive of the events it is the source of). Computed once
   * per version and scope in the impact worker (a version is immutable), the last few kept.
   */
  async matrix(user: User, version: string): Promise<PolicyMatrix> {
    const bundle = this.bundle(version); // NotFoundError for a version the service does not hold
    const party = user.role === "party" ? user.party! : undefined;
    const key = `${version}|${party ?? "*"}`;
    let m = this.matrices.get(key);
    if (!m) {
      m = this.evaluator.matrix(bundle, party);
      m.catch(() => this.matrices.delete(key));
      this.matrices.set(key, m);
      while (this.matrices.size > MATRICES_KEPT) this.matrices.delete(this.matrices.keys().next().value!);
    }
    const computed = await m;
    return { version, inForce: version === this.currentVersion(), scope: party === undefined ? "all" : { party }, ...computed };
  }

  /**
   * The ledger as read now, checked with the service's public key (hash chain, links and signatures: what
   * `px ledger verify` checks), each entry with its own problems. A forged or altered entry is reported, not
   * hidden.
   */
  async ledgerCheck(): Promise<LedgerCheck> {
    const entries = await this.d.ledger.readAll();
    const result = verifyChain(entries, this.d.verifier);
    const byIndex = new Map<number, { kind: string; message: string }[]>();
    for (const p of result.problems) byIndex.set(p.index, [...(byIndex.get(p.index) ?? []), { kind: p.kind, message: p.message }]);
    return { result, entries: entries.map((entry, i) => ({ entry, problems: byIndex.get(i) ?? [] })) };
  }

  /** Compiles and tests the change on top of the version in force, then computes its impact and dry run. */
  evaluate(change: PolicyChange): Promise<Evaluation> {
    return this.workflow.evaluate(change);
  }

  // ---------------------------------------------------------------- changing

  async propose(user: User, change: PolicyChange, description: string): Promise<Proposal> {
    authorizePropose(user, change, this.bundle(this.currentVersion()).data.contracts as ContractsInForce);
    return this.queue.run(() => this.workflow.propose(user, change, description));
  }

  async approve(user: User, id: string, immediate = false): Promise<Proposal> {
    return this.queue.run(async () => {
      authorizeApprove(user, this.workflow.proposal(id), immediate);
      return this.workflow.approve(user, id, immediate);
    });
  }

  /** A side of the proposal's contracts, or a regulator, turns it down before it takes effect. */
  async reject(user: User, id: string, reason: string): Promise<Proposal> {
    return this.queue.run(async () => {
      authorizeReject(user, this.workflow.proposal(id));
      return this.workflow.rejectProposal(user, id, reason);
    });
  }

  /** A regulator puts an approved or scheduled proposal into effect now. */
  async apply(user: User, id: string): Promise<Proposal> {
    authorizeApply(user);
    return this.approve(user, id, true);
  }

  async rollback(user: User, version: string): Promise<string> {
    authorizeRollback(user);
    return this.queue.run(() => this.versions.rollback(version, user.id));
  }

  // ---------------------------------------------------------------- webhook endpoints

  /** The endpoints the user may see (a party its own), without secrets. */
  listWebhooks(user: User): WebhookEndpoint[] {
    return visibleWebhooks(user, this.webhooks.all()).map((w) => this.webhooks.view(w));
  }

  /** The enabled endpoints with their unexpired signing secrets (the gateway's route). */
  webhookTargets(): WebhookTarget[] {
    return this.webhooks.targets();
  }

  /** Registers an endpoint (the body already checked, its format defaulted); the answer holds its secret, shown once. */
  createWebhook(user: User, r: CreateWebhookRequest & { readonly format: WebhookEndpoint["format"] }): Promise<WebhookSecretResponse> {
    return this.queue.run(async () => {
      const parties = new Set(Object.keys(this.bundle(this.currentVersion()).data.parties));
      const party = webhookOwner(user, r.party, parties, (p) => this.webhooks.countOf(p));
      return this.webhooks.create(user, party, r);
    });
  }

  rotateWebhookSecret(user: User, id: string): Promise<WebhookSecretResponse> {
    return this.queue.run(async () => {
      authorizeWebhookAction(user, this.webhooks.get(id), "rotate", id);
      return this.webhooks.rotate(user, id);
    });
  }

  /** Stops deliveries; when the gateway does so, the owning party gets a notice. */
  disableWebhook(user: User, id: string, reason: string): Promise<WebhookEndpoint> {
    return this.queue.run(async () => {
      authorizeWebhookAction(user, this.webhooks.get(id), "disable", id);
      return this.webhooks.disable(user, id, reason, user.role === "gateway");
    });
  }

  enableWebhook(user: User, id: string): Promise<WebhookEndpoint> {
    return this.queue.run(async () => {
      authorizeWebhookAction(user, this.webhooks.get(id), "enable", id);
      return this.webhooks.enable(user, id);
    });
  }
}
