/**
 * Follows the compacted policy topic and hands every valid bundle to the router as a loaded engine. A bundle
 * that does not parse, is not signed by the policy service's key, or does not load is refused and the policy
 * in force stays.
 */
import { randomUUID } from "node:crypto";
import type { Consumer, Kafka } from "kafkajs";
import { BundleRefusedError, bundleSignatureValid, parseBundle, ROUTER_POLICY_KEY, subscribeWhenReady, type Config, type Logger, type Verifier } from "../../shared/src/index.js";
import { PolicyEngine } from "../../decision/src/index.js";

export class PolicySource {
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly verifier: Verifier,
    private readonly onEngine: (engine: PolicyEngine) => Promise<void>,
    private readonly onRefused: (reason: string) => void,
  ) {}

  async start(): Promise<void> {
    // A group of its own per router instance: every instance reads every bundle.
    const consumer = this.kafka.consumer({ groupId: `${this.config.router.groupId}-policy-${randomUUID()}`, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    this.consumer = consumer;
    await consumer.connect();
    await subscribeWhenReady(consumer, { topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (message.key?.toString() !== ROUTER_POLICY_KEY || message.value === null) return;
        let engine: PolicyEngine;
        try {
          const bundle = parseBundle(message.value);
          if (!bundleSignatureValid(bundle, this.verifier)) {
            throw new BundleRefusedError(`bundle ${bundle.version} is ${bundle.signature ? `signed by key ${bundle.signature.keyId}, not the policy service's key ${this.verifier.keyId}` : "unsigned"}`);
          }
          engine = await PolicyEngine.load(bundle, this.config.router.policyEvalTimeoutMs);
        } catch (err) {
          this.log.error({ err, offset: message.offset }, "policy bundle refused; the policy in force stays");
          this.onRefused((err as Error).message);
          return;
        }
        await this.onEngine(engine);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
