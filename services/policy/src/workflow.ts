/**
 * The proposal workflow: proposed → (approved by both sides of the contracts it changes, or by a regulator)
 * → published at once, or scheduled for the longest notice period of the contracts it reduces (the parties
 * are notified) and published when that ends, or at once when a regulator gives it immediate effect.
 *
 * It changes state and records each step in the ledger; it does not check who may act (authz.ts) and runs
 * each call to completion before the next (the service serialises them).
 */
import { randomUUID } from "node:crypto";
import { topics } from "@parcel-exchange/shared";
import type { Approval, PolicyChange, Proposal } from "./api.js";
import { contractSides, noticeMs, sourceOfBundle } from "./change.js";
import { ChangeRejectedError, ConflictError, NotFoundError } from "./errors.js";
import type { Evaluation, Evaluator } from "./evaluate.js";
import { noticesOf, type NoticePublisher } from "./notices.js";
import { bodyOf, SealedStore, STALE, type SealedStateDeps } from "./state.js";
import type { User } from "./users.js";
import type { PolicyVersions } from "./versions.js";

export interface WorkflowDeps extends SealedStateDeps {
  readonly versions: PolicyVersions;
  readonly evaluator: Evaluator;
  readonly notices: NoticePublisher;
  readonly now: () => number;
}

const SERVICE = "policy-service";

/** The statuses a stored proposal may have after each kind of ledger entry about it. */
const STATUS_AFTER: Readonly<Record<string, readonly Proposal["status"][]>> = {
  "policy.proposed": ["proposed"],
  "policy.approved": ["proposed", "scheduled"],
  "policy.scheduled": ["scheduled"],
  "policy.published": ["published"],
  "policy.proposal_rejected": ["rejected"],
};

export class ProposalWorkflow {
  private constructor(
    private readonly d: WorkflowDeps,
    private readonly proposals: SealedStore<Proposal>,
  ) {}

  /**
   * Reads the stored proposals. A record counts only when it is sealed by the service and refers to the newest
   * ledger entry that changed the proposal, with a status that entry allows: a forged proposal, or a genuine
   * older state written again, is refused.
   */
  static async open(d: WorkflowDeps): Promise<ProposalWorkflow> {
    const proposals = await SealedStore.open<Proposal>({
      ...d, // kafka, config, signer, verifier, onRefused
      topic: topics(d.config.topicPrefix).policyProposals,
      name: "proposals",
      check: (key, p, ref) => {
        if (p.id !== key) return `it holds proposal ${String(p.id)} under the key ${key}`;
        const latest = d.index.latestAbout(key);
        if (!latest) return `the ledger records no proposal ${key}`;
        if (latest.seq !== ref.seq || latest.hash !== ref.hash) {
          const entry = d.index.at(ref);
          return entry && bodyOf(entry).proposal === key ? STALE : `it refers to ledger entry ${ref.seq}, which does not record proposal ${key}`;
        }
        if (!STATUS_AFTER[latest.type]?.includes(p.status)) return `its status '${p.status}' does not follow from ledger entry ${latest.seq} (${latest.type})`;
        return undefined;
      },
    });
    return new ProposalWorkflow(d, proposals);
  }

  close(): Promise<void> {
    return this.proposals.close();
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  proposal(id: string): Proposal {
    const p = this.proposals.get(id);
    if (!p) throw new NotFoundError(`proposal ${id}`);
    return p;
  }

  list(): Proposal[] {
    return this.proposals.values().sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** The change on top of the version in force; throws ChangeRejectedError when it does not compile or its tests fail. */
  evaluate(change: PolicyChange): Promise<Evaluation> {
    const v = this.d.versions;
    return this.d.evaluator.evaluate(v.bundle(v.current()), change, v.nextLabel());
  }

  private async reject(user: User, description: string, err: ChangeRejectedError): Promise<never> {
    await this.d.ledger.append({ type: "policy.rejected", actor: user.id, body: { description, reason: err.message, details: err.details } });
    throw err;
  }

  /** Evaluates the change and records it as a proposal (carrying its author's approval), or rejects it. */
  async propose(user: User, change: PolicyChange, description: string): Promise<Proposal> {
    const base = this.d.versions.bundle(this.d.versions.current());
    let ev: Evaluation;
    try {
      ev = await this.evaluate(change);
    } catch (err) {
      if (err instanceof ChangeRejectedError) return this.reject(user, description, err);
      throw err;
    }
    if (ev.impact.floorViolations.length > 0) return this.reject(user, description, new ChangeRejectedError("the change would withhold what the regulator's floor guarantees", { floorViolations: ev.impact.floorViolations }));
    const { floorViolations: _f, ...impact } = ev.impact;
    const p: Proposal = {
      id: `prop-${randomUUID().slice(0, 8)}`,
      createdAt: this.iso(),
      author: user.id,
      description,
      change,
      baseVersion: base.version,
      proposedVersion: ev.bundle.version,
      requiredSides: [...contractSides(sourceOfBundle(base), change)].sort(),
      impact,
      dryRun: ev.dryRun,
      status: "proposed",
      approvals: [this.approval(user, false)],
    };
    const entry = await this.d.ledger.append({ type: "policy.proposed", actor: user.id, body: { proposal: p.id, description, baseVersion: p.baseVersion, proposedVersion: p.proposedVersion, change, reductions: impact.reductions, expansions: impact.expansions, dryRun: p.dryRun.lines.slice(0, 50).map((l) => l.text) } });
    await this.d.versions.store(ev.bundle, entry);
    await this.proposals.put(p.id, p, entry);
    return this.advance(p);
  }

  private approval(user: User, immediate: boolean): Approval {
    return { by: user.id, role: user.role, ...(user.party ? { party: user.party } : {}), at: this.iso(), immediate };
  }

  /** Adds (or replaces) the user's approval; publishes or schedules the proposal once it is approved. */
  async approve(user: User, id: string, immediate: boolean): Promise<Proposal> {
    const current = this.proposal(id);
    if (current.status === "published" || current.status === "superseded" || current.status === "rejected") throw new ConflictError(`proposal ${id} is already ${current.status}`);
    const p: Proposal = { ...current, approvals: [...current.approvals.filter((a) => a.by !== user.id), this.approval(user, immediate)] };
    const entry = await this.d.ledger.append({ type: "policy.approved", actor: user.id, body: { proposal: p.id, immediate } });
    await this.proposals.put(p.id, p, entry);
    if (p.status === "scheduled" && immediate) return this.publish(p, user.id);
    return this.advance(p);
  }

  /**
   * Turns a proposal down for good (a side of its contracts or a regulator, checked by the caller): it is not
   * published, also not when its notice period ends. A proposal already in force is rolled back instead.
   */
  async rejectProposal(user: User, id: string, reason: string): Promise<Proposal> {
    const current = this.proposal(id);
    if (current.status !== "proposed" && current.status !== "scheduled") throw new ConflictError(`proposal ${id} is ${current.status}; only a proposal not yet in force can be rejected`);
    const p: Proposal = { ...current, status: "rejected", rejection: { by: user.id, role: user.role, ...(user.party ? { party: user.party } : {}), at: this.iso(), reason } };
    const entry = await this.d.ledger.append({ type: "policy.proposal_rejected", actor: user.id, body: { proposal: id, reason, was: current.status } });
    await this.proposals.put(p.id, p, entry);
    return p;
  }

  /** Publishes every scheduled proposal whose notice period has ended. */
  async publishDue(): Promise<void> {
    for (const p of this.proposals.values()) {
      if (p.status === "scheduled" && p.effectiveAt && Date.parse(p.effectiveAt) <= this.d.now()) await this.publish(p, SERVICE);
    }
  }

  private approved(p: Proposal): boolean {
    if (p.approvals.some((a) => a.role === "regulator")) return true;
    return p.requiredSides.length > 0 && p.requiredSides.every((side) => p.approvals.some((a) => a.role === "party" && a.party === side));
  }

  private async advance(p: Proposal): Promise<Proposal> {
    if (p.status !== "proposed" || !this.approved(p)) return p;
    const immediate = p.approvals.some((a) => a.role === "regulator" && a.immediate);
    if (p.impact.reductions.length === 0 || immediate) return this.publish(p, p.approvals[p.approvals.length - 1]!.by);
    // A reduction waits for the longest notice period among the contracts it concerns; the parties are told.
    const base = sourceOfBundle(this.d.versions.bundle(p.baseVersion));
    const wait = Math.max(0, ...p.impact.reductions.flatMap((r) => (r.contracts.length ? r.contracts.map((c) => noticeMs(base, c)) : [0])));
    const scheduled: Proposal = { ...p, status: "scheduled", effectiveAt: new Date(this.d.now() + wait).toISOString() };
    const entry = await this.d.ledger.append({ type: "policy.scheduled", actor: SERVICE, body: { proposal: scheduled.id, effectiveAt: scheduled.effectiveAt, noticeMs: wait } });
    await this.proposals.put(scheduled.id, scheduled, entry);
    await this.notify(scheduled);
    if (wait === 0) return this.publish(scheduled, SERVICE);
    return scheduled;
  }

  private notify(p: Proposal): Promise<void> {
    return this.d.notices.publish(noticesOf(p), this.d.versions.current(), (n) =>
      this.d.ledger.append({ type: "policy.notice", actor: SERVICE, body: { proposal: p.id, party: n.party, effectiveAt: p.effectiveAt, changes: n.changes } }).then(() => undefined),
    );
  }

  private async publish(p: Proposal, by: string): Promise<Proposal> {
    let bundle = this.d.versions.bundle(p.proposedVersion);
    if (p.baseVersion !== this.d.versions.current()) {
      // The policy moved on since the proposal: apply the same change to what is in force now.
      const ev = await this.evaluate(p.change);
      if (ev.impact.floorViolations.length > 0) throw new ChangeRejectedError("rebased on the policy in force, the change would breach the floor", { floorViolations: ev.impact.floorViolations });
      bundle = ev.bundle; // kept by publish(), under the ledger entry that publishes it
    }
    const entry = await this.d.versions.publish(bundle, by, { proposal: p.id, description: p.description, author: p.author, approvals: p.approvals.map((a) => a.by), reductions: p.impact.reductions.length, expansions: p.impact.expansions.length, dryRun: p.dryRun.lines.slice(0, 20).map((l) => l.text) });
    const published: Proposal = { ...p, status: "published", publishedVersion: bundle.version, publishedAt: this.iso() };
    await this.proposals.put(published.id, published, entry);
    return published;
  }
}
