/** Publishes a policy bundle to the compacted policy topic that every router follows. */
import type { Kafka } from "kafkajs";
import { ensureTopics, idempotentProducer, policyTopicSpec, ROUTER_POLICY_KEY, serializeBundle, topics, type Config, type PolicyBundle } from "@parcel-exchange/shared";

export async function publishBundle(kafka: Kafka, config: Config, bundle: PolicyBundle): Promise<void> {
  const t = topics(config.topicPrefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, config, [policyTopicSpec(t.policy)]);
  } finally {
    await admin.disconnect();
  }
  const producer = idempotentProducer(kafka);
  await producer.connect();
  try {
    await producer.send({
      topic: t.policy,
      acks: -1,
      messages: [{ key: ROUTER_POLICY_KEY, value: serializeBundle(bundle), headers: { "px-policy-version": bundle.version } }],
    });
  } finally {
    await producer.disconnect();
  }
}
