/**
 * The policy versions: every bundle the service has built, kept sealed on a compacted topic (state.ts), and
 * which one is in force. Which one is in force, and its release sequence, come from the signature-verified
 * ledger, never from the topic: the newest `policy.published` or `policy.rolled_back` entry names it.
 *
 * Putting a version in force (publishing, rolling back) is, in this order: a ledger entry (with the next
 * release sequence), the bundle signed whole with that sequence, the deployment and the entry's reference,
 * sent to the routers, then the `@released` marker. A crash before the marker is healed at the next start by
 * sending the same signed release again (routers ignore a release they already apply).
 */
import { bundleDigest, parseBundle, serializeBundle, signBundle, topics, unsignedBundle, type LedgerRef, type Logger, type PolicyBundle } from "@parcel-exchange/shared";
import { publishBundle } from "@parcel-exchange/policy-build";
import type { LedgerEntry } from "@parcel-exchange/ledger";
import { NotFoundError } from "./errors.js";
import { bodyOf, SealedStore, STALE, StateIntegrityError, type SealedStateDeps } from "./state.js";

/** Key of the marker that the release in force reached the routers. */
const RELEASED = "@released";

interface Released {
  readonly version: string;
  readonly sequence: number;
}

export interface VersionDeps extends SealedStateDeps {
  readonly log: Logger;
}

interface InForce {
  readonly version: string;
  readonly sequence: number;
  readonly entry: LedgerRef;
}

export class PolicyVersions {
  private constructor(
    private readonly d: VersionDeps,
    private readonly kept: SealedStore<string>,
    private inForce: InForce | undefined,
  ) {}

  static async open(d: VersionDeps): Promise<PolicyVersions> {
    const releases = d.index.releases();
    const last = releases.at(-1);
    const kept = await SealedStore.open<string>({
      ...d, // kafka, config, signer, verifier, onRefused
      topic: topics(d.config.topicPrefix).policyVersions,
      name: "versions",
      check: (key, value, ref) => {
        const entry = d.index.at(ref);
        if (!entry) return `the ledger has no entry ${ref.seq} with hash ${ref.hash.slice(0, 12)}…`;
        if (key === RELEASED) {
          const r = releasedOf(value);
          const release = releases.find((x) => x.entry.seq === entry.seq);
          if (!release || r.sequence !== release.sequence || r.version !== release.version) return `it names release ${String(r.sequence)} (${String(r.version)}), which ledger entry ${entry.seq} does not record`;
          return last && release.sequence === last.sequence ? undefined : STALE;
        }
        let bundle: PolicyBundle;
        try {
          bundle = parseBundle(Buffer.from(value));
        } catch (err) {
          return `it is not a policy bundle (${(err as Error).message})`;
        }
        if (bundle.version !== key) return `it holds version ${bundle.version} under the key ${key}`;
        const b = bodyOf(entry);
        if (b.proposedVersion !== key && b.version !== key) return `ledger entry ${entry.seq} (${entry.type}) does not record version ${key}`;
        return undefined;
      },
    });
    let inForce: InForce | undefined;
    if (last) {
      if (kept.get(last.version) === undefined) {
        throw new StateIntegrityError(`the version in force according to the ledger, ${last.version} (entry ${last.entry.seq}), is missing from ${topics(d.config.topicPrefix).policyVersions} or does not verify`);
      }
      inForce = { version: last.version, sequence: last.sequence, entry: last.entry };
    }
    const versions = new PolicyVersions(d, kept, inForce);
    const marker = kept.get(RELEASED);
    const released = marker === undefined ? undefined : releasedOf(marker);
    if (inForce && released?.sequence !== inForce.sequence) {
      // The last release may not have reached the routers: send the same signed release again.
      d.log.warn({ version: inForce.version, sequence: inForce.sequence }, "re-sending the release in force to the routers");
      await versions.sendToRouters(versions.bundle(inForce.version), inForce);
    }
    return versions;
  }

  /** Whether any version was ever put in force. */
  hasCurrent(): boolean {
    return this.inForce !== undefined;
  }

  current(): string {
    if (!this.inForce) throw new NotFoundError("the policy version in force");
    return this.inForce.version;
  }

  /** The release sequence in force (0 before the first release). */
  sequence(): number {
    return this.inForce?.sequence ?? 0;
  }

  bundle(version: string): PolicyBundle {
    const raw = version === RELEASED ? undefined : this.kept.get(version);
    if (raw === undefined) throw new NotFoundError(`policy version ${version}`);
    return parseBundle(Buffer.from(raw));
  }

  /** A label for the next version built: v<n>. */
  nextLabel(): string {
    return `v${this.kept.size + (this.kept.get(RELEASED) === undefined ? 1 : 0)}`;
  }

  /** Keeps a bundle (not in force), sealed with the ledger entry that records it. */
  async store(bundle: PolicyBundle, entry: LedgerRef): Promise<void> {
    if (this.kept.get(bundle.version) !== undefined) return;
    await this.kept.put(bundle.version, serializeBundle(unsignedBundle(bundle)).toString(), entry);
  }

  private async sendToRouters(bundle: PolicyBundle, release: InForce): Promise<void> {
    const signed = signBundle(bundle, this.d.signer, { sequence: release.sequence, deployment: this.d.config.deploymentId, ledger: { seq: release.entry.seq, hash: release.entry.hash } });
    await publishBundle(this.d.kafka, this.d.config, signed);
    await this.kept.put(RELEASED, JSON.stringify({ version: release.version, sequence: release.sequence } satisfies Released), release.entry);
  }

  /**
   * Puts a bundle in force: records it in the ledger (with `body`), keeps it, signs it with the next release
   * sequence and sends it to the routers. Returns the ledger entry.
   */
  async publish(bundle: PolicyBundle, by: string, body: Readonly<Record<string, unknown>>): Promise<LedgerEntry> {
    const sequence = this.sequence() + 1;
    const previous = this.inForce?.version ?? null;
    const entry = await this.d.ledger.append({ type: "policy.published", actor: by, body: { version: bundle.version, previous, sequence, deployment: this.d.config.deploymentId, digest: bundleDigest(bundle), ...body } });
    await this.store(bundle, entry);
    this.inForce = { version: bundle.version, sequence, entry };
    await this.sendToRouters(bundle, this.inForce);
    this.d.log.info({ version: bundle.version, sequence, by }, "policy published");
    return entry;
  }

  /** Puts an earlier version's content back in force, as a new release with a higher sequence. */
  async rollback(version: string, by: string): Promise<string> {
    const b = this.bundle(version);
    const from = this.current();
    const sequence = this.sequence() + 1;
    const entry = await this.d.ledger.append({ type: "policy.rolled_back", actor: by, body: { from, to: b.version, sequence, deployment: this.d.config.deploymentId, digest: bundleDigest(b) } });
    this.inForce = { version: b.version, sequence, entry };
    await this.sendToRouters(b, this.inForce);
    this.d.log.info({ version: b.version, from, sequence, by }, "policy rolled back");
    return b.version;
  }

  close(): Promise<void> {
    return this.kept.close();
  }
}

function releasedOf(text: string): Partial<Released> {
  try {
    const o = JSON.parse(text) as Partial<Released>;
    return typeof o === "object" && o !== null ? o : {};
  } catch {
    return {};
  }
}
