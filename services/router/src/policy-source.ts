/**
 * Follows the policy topic and hands the router each newer valid bundle as a loaded engine. A bundle is
 * applied only when it parses, carries the policy service's signature over its whole content and release,
 * was released for this deployment, loads, and has a higher release sequence than the bundle in force; a
 * genuine older bundle written again (a replay) is refused like a forgery. The policy in force stays.
 *
 * The topic is never compacted, so reading it from the start always meets the newest bundle; of a batch only
 * the newest valid bundle is loaded.
 */
import { randomUUID } from "node:crypto";
import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import { BundleRefusedError, parseBundle, ROUTER_POLICY_KEY, subscribeWhenReady, verifyBundle, type Config, type Logger, type PolicyBundle, type Verifier } from "@parcel-exchange/shared";
import { PolicyEngine } from "@parcel-exchange/decision";

interface Applied {
  readonly sequence: number;
  /** Its signature, which covers the content digest and the release: equal signatures, the same release. */
  readonly sig: string;
}

export class PolicySource {
  private consumer: Consumer | undefined;
  /** The release sequence of the newest bundle accepted so far (in force, or about to be). */
  private newest: Applied | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly verifier: Verifier,
    private readonly onEngine: (engine: PolicyEngine) => Promise<void>,
    private readonly onRefused: (reason: string) => void,
  ) {}

  /** The release sequence of the newest bundle accepted, if any. */
  get sequence(): number | undefined {
    return this.newest?.sequence;
  }

  /** Checks one record; returns the bundle when it is newer than everything accepted so far. */
  private admit(message: KafkaMessage): PolicyBundle | undefined {
    if (message.key?.toString() !== ROUTER_POLICY_KEY || message.value === null) return undefined;
    try {
      const bundle = parseBundle(message.value);
      const release = verifyBundle(bundle, this.verifier, this.config.deploymentId);
      const sig = bundle.signature!.sig; // verifyBundle refuses an unsigned bundle
      const newest = this.newest;
      if (newest && release.sequence === newest.sequence && sig === newest.sig) return undefined; // the same release again
      if (newest && release.sequence <= newest.sequence) {
        throw new BundleRefusedError(`bundle ${bundle.version} has release sequence ${release.sequence}, not higher than ${newest.sequence} already applied (an older bundle written again)`);
      }
      this.newest = { sequence: release.sequence, sig };
      return bundle;
    } catch (err) {
      this.log.error({ err, offset: message.offset }, "policy bundle refused; the policy in force stays");
      this.onRefused((err as Error).message);
      return undefined;
    }
  }

  async start(): Promise<void> {
    // A group of its own per router instance: every instance reads every bundle.
    const consumer = this.kafka.consumer({ groupId: `${this.config.router.groupId}-policy-${randomUUID()}`, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    this.consumer = consumer;
    await consumer.connect();
    await subscribeWhenReady(consumer, { topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        let pick: PolicyBundle | undefined;
        for (const message of batch.messages) pick = this.admit(message) ?? pick;
        if (!pick) return;
        let engine: PolicyEngine;
        try {
          engine = await PolicyEngine.load(pick, this.config.router.policyEvalTimeoutMs);
        } catch (err) {
          this.log.error({ err, version: pick.version }, "policy bundle does not load; the policy in force stays");
          this.onRefused((err as Error).message);
          return;
        }
        await heartbeat();
        await this.onEngine(engine);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
