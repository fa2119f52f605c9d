/**
 * The demo's isolation line: attempts a person can read, each made with one party's own credentials against the
 * real cluster, and a check that fails the demo if the broker allowed any of them.
 */
import type { Kafka } from "kafkajs";
import { createKafka, createLogger, errorTypes, topics, type Config } from "@parcel-exchange/shared";

interface Attempt {
  readonly text: string;
  readonly run: () => Promise<unknown>;
}

/** The broker's refusal (an *_AUTHORIZATION_FAILED error type), or undefined when the attempt succeeded. */
async function refusalOf(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (err) {
    return errorTypes(err).find((x) => x.endsWith("AUTHORIZATION_FAILED")) ?? `error: ${(err as Error).message}`;
  }
}

/** One record written to `topic`, with no retries (a refusal is the answer wanted, not something to wait out). */
export async function produceOnce(kafka: Kafka, topic: string): Promise<void> {
  const p = kafka.producer({ retry: { retries: 0 } });
  await p.connect();
  try {
    await p.send({ topic, acks: -1, messages: [{ value: "forged" }] });
  } finally {
    await p.disconnect();
  }
}

export async function isolationCheck(as: (id: string) => Config, prefix: string): Promise<{ lines: string[]; check: { name: string; ok: boolean; checked: number; problems: string[] } }> {
  const t = topics(prefix);
  const log = createLogger("demo-isolation", "silent");
  const hiveBox = createKafka(as("hive-box"), log);
  const zto = createKafka(as("zto"), log);
  const attempts: Attempt[] = [
    {
      text: "Hive Box tries to read Taobao's feed",
      run: async () => {
        const c = hiveBox.consumer({ groupId: `${prefix}.hive-box.peek` });
        await c.connect();
        try {
          await c.subscribe({ topics: [t.deliver("taobao")], fromBeginning: true });
        } finally {
          await c.disconnect();
        }
      },
    },
    { text: "ZTO tries to publish on SF Express's ingress topic", run: () => produceOnce(zto, t.ingress("sf-express", "TrackingEvent")) },
    { text: "ZTO tries to write the policy topic", run: () => produceOnce(zto, t.policy) },
  ];
  const lines: string[] = [];
  const problems: string[] = [];
  for (const a of attempts) {
    const refused = await refusalOf(a.run);
    if (refused?.endsWith("AUTHORIZATION_FAILED")) lines.push(`${a.text}: denied by the broker (${refused})`);
    else {
      lines.push(`${a.text}: ${refused ?? "ALLOWED"}`);
      problems.push(`${a.text}: ${refused ?? "allowed"}`);
    }
  }
  return { lines, check: { name: "no party reads or writes where it does not belong", ok: problems.length === 0, checked: attempts.length, problems } };
}
