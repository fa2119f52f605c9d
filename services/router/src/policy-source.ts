/**
 * Follows the compacted policy topic and hands every valid bundle to the router as a loaded engine. A bundle
 * that does not parse or load is refused and the policy in force stays.
 */
import { randomUUID } from "node:crypto";
import type { Consumer, Kafka } from "kafkajs";
import { parseBundle, ROUTER_POLICY_KEY, type Config, type Logger } from "../../shared/src/index.js";
import { PolicyEngine } from "./policy/engine.js";

export class PolicySource {
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly onEngine: (engine: PolicyEngine) => Promise<void>,
    private readonly onRefused: (reason: string) => void,
  ) {}

  async start(): Promise<void> {
    // A group of its own per router instance: every instance reads every bundle.
    const consumer = this.kafka.consumer({ groupId: `${this.config.router.groupId}-policy-${randomUUID()}`, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (message.key?.toString() !== ROUTER_POLICY_KEY || message.value === null) return;
        let engine: PolicyEngine;
        try {
          engine = await PolicyEngine.load(parseBundle(message.value), this.config.router.policyEvalTimeoutMs);
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
