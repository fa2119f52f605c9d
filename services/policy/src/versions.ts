/**
 * The policy versions: every bundle the service has built, kept on a compacted topic, and which one is in
 * force. Putting a version in force (publishing, rolling back) goes to the routers and to the ledger.
 */
import type { Kafka } from "kafkajs";
import { parseBundle, serializeBundle, signBundle, topics, type Config, type Logger, type PolicyBundle, type Signer } from "../../shared/src/index.js";
import { publishBundle } from "../../policy-build/src/index.js";
import type { LedgerStore } from "../../ledger/src/index.js";
import { NotFoundError } from "./errors.js";
import { KafkaKv } from "./kv.js";

/** Key of the pointer to the version in force. */
const CURRENT = "@current";

export interface VersionDeps {
  readonly config: Config;
  readonly kafka: Kafka;
  readonly log: Logger;
  readonly signer: Signer;
  readonly ledger: LedgerStore;
}

export class PolicyVersions {
  private constructor(
    private readonly d: VersionDeps,
    private readonly kv: KafkaKv<string>,
  ) {}

  static async open(d: VersionDeps): Promise<PolicyVersions> {
    return new PolicyVersions(d, await KafkaKv.open<string>(d.kafka, d.config, topics(d.config.topicPrefix).policyVersions));
  }

  /** Whether any version was ever put in force. */
  hasCurrent(): boolean {
    return this.kv.get(CURRENT) !== undefined;
  }

  current(): string {
    const v = this.kv.get(CURRENT);
    if (v === undefined) throw new NotFoundError("the policy version in force");
    return v;
  }

  bundle(version: string): PolicyBundle {
    const raw = this.kv.get(version);
    if (raw === undefined || version === CURRENT) throw new NotFoundError(`policy version ${version}`);
    return parseBundle(Buffer.from(raw));
  }

  /** A label for the next version built: v<n>. */
  nextLabel(): string {
    return `v${this.kv.values().length}`; // the versions plus the pointer
  }

  /** Keeps a bundle (not in force). */
  async store(bundle: PolicyBundle): Promise<void> {
    await this.kv.put(bundle.version, serializeBundle(bundle).toString());
  }

  /** Stores a signed bundle, sends it to the routers, puts it in force and records that in the ledger. */
  async publish(bundle: PolicyBundle, by: string, body: Readonly<Record<string, unknown>>): Promise<void> {
    await this.store(bundle);
    await publishBundle(this.d.kafka, this.d.config, bundle);
    const previous = this.kv.get(CURRENT);
    await this.kv.put(CURRENT, bundle.version);
    await this.d.ledger.append({ type: "policy.published", actor: by, body: { version: bundle.version, previous: previous ?? null, ...body } });
    this.d.log.info({ version: bundle.version, by }, "policy published");
  }

  /** Puts an earlier version back in force exactly (signing it if it was kept unsigned). */
  async rollback(version: string, by: string): Promise<string> {
    const b = this.bundle(version);
    const from = this.current();
    const signed = b.signature ? b : signBundle(b, this.d.signer);
    await publishBundle(this.d.kafka, this.d.config, signed);
    await this.kv.put(CURRENT, signed.version);
    await this.d.ledger.append({ type: "policy.rolled_back", actor: by, body: { from, to: signed.version } });
    this.d.log.info({ version: signed.version, from, by }, "policy rolled back");
    return signed.version;
  }

  close(): Promise<void> {
    return this.kv.close();
  }
}
