/**
 * Integration tests run against the real local stack. When it is not up, start it (idempotent), so that
 * `npm test` passes on a fresh clone after `npm install`. Set PX_LOCAL_STACK=false to run against services
 * configured through the environment instead (e.g. an existing cluster).
 *
 * Then warm the broker up: a freshly started broker answers "coordinator loading / not available" to the
 * first group and transactional requests while it creates its internal topics. One group join and one
 * committed transaction here let every test start against a settled broker.
 */
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { createKafka, createLogger, deleteTopicsWithPrefix, ensureTopics, idempotentProducer, loadConfig, localStackEnv, localStackUp, subscribeWhenReady } from "@parcel-exchange/shared";
import { TEST_TOPIC_ROOT, testTopicPrefix } from "./helpers.js";

async function warmUp(): Promise<void> {
  const config = loadConfig({ ...process.env, PX_TOPIC_PREFIX: `${testTopicPrefix()}warmup`, PX_LOG_LEVEL: "error" });
  const kafka = createKafka(config, createLogger("warmup", "error"));
  const topic = `${config.topicPrefix}.t`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config, [{ topic, partitions: 1 }]);
  await admin.disconnect();
  const producer = idempotentProducer(kafka, { transactionalId: `${config.topicPrefix}.tx` });
  await producer.connect();
  const tx = await producer.transaction();
  await tx.send({ topic, acks: -1, messages: [{ key: "k", value: "warm" }] });
  await tx.commit();
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${config.topicPrefix}.g`, readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await subscribeWhenReady(consumer, { topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("broker warm-up: no record consumed within 60 s")), 60_000);
    void consumer.run({
      eachMessage: async () => {
        clearTimeout(timer);
        resolve();
      },
    });
  });
  await consumer.disconnect();
}

/** Deletes test topics: those of this run, or (on the local stack) every test run's that an interrupted run left. */
async function deleteTestTopics(prefix: string): Promise<void> {
  const kafka = createKafka(loadConfig({ ...process.env, PX_LOG_LEVEL: "error" }), createLogger("test-cleanup", "error"));
  const gone = await deleteTopicsWithPrefix(kafka, prefix);
  if (gone.length > 0) process.stdout.write(`[test] deleted ${gone.length} test topics under ${prefix}\n`);
}

/**
 * Every test file's topics live under one prefix per run (PX_TEST_RUN, inherited by the test workers), and the
 * teardown deletes them, so runs do not pile partitions up on the broker.
 */
export default async function setup(): Promise<() => Promise<void>> {
  process.env.PX_TEST_RUN ??= `r${Date.now().toString(36)}`;
  const local = loadConfig().manageLocalStack;
  if (local) {
    const root = join(dirname(fileURLToPath(import.meta.url)), "..");
    localStackUp(root);
    // Tests act as the stack's admin principal unless told otherwise; those about isolation provision their own
    // deployment and act as its parties and services. The workers inherit this environment.
    if (process.env.KAFKA_SASL_USERNAME === undefined) Object.assign(process.env, localStackEnv(root));
    // Only on the stack this project runs: on a shared cluster another run's topics may be in use.
    await deleteTestTopics(TEST_TOPIC_ROOT);
  }
  await warmUp();
  return () => deleteTestTopics(testTopicPrefix());
}
