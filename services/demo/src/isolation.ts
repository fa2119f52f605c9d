/**
 * The demo's isolation line: attempts a person can read, each made with one party's own credentials against the
 * real cluster, and a check that fails the demo if the broker allowed any of them.
 */
import { createKafka, createLogger, errorChain, topics, type Config } from "../../shared/src/index.js";

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
    const type = errorChain(err)
      .flatMap((e) => [(e as { type?: unknown }).type, ...(((e as { errors?: { type?: unknown }[] }).errors ?? []).map((x) => x.type))])
      .find((x): x is string => typeof x === "string" && x.endsWith("AUTHORIZATION_FAILED"));
    return type ?? `error: ${(err as Error).message}`;
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
    {
      text: "ZTO tries to publish on SF Express's ingress topic",
      run: async () => {
        const p = zto.producer({ retry: { retries: 0 } });
        await p.connect();
        try {
          await p.send({ topic: t.ingress("sf-express", "TrackingEvent"), acks: -1, messages: [{ value: "forged" }] });
        } finally {
          await p.disconnect();
        }
      },
    },
    {
      text: "ZTO tries to write the policy topic",
      run: async () => {
        const p = zto.producer({ retry: { retries: 0 } });
        await p.connect();
        try {
          await p.send({ topic: t.policy, acks: -1, messages: [{ value: "forged" }] });
        } finally {
          await p.disconnect();
        }
      },
    },
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
