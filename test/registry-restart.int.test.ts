/**
 * The schema registry keeps its ids: records in Kafka name their schema by the registry's id (Confluent wire
 * format), so a registry that forgot its schemas on restart — or numbered them anew — would leave every stored
 * record pointing at nothing or at another schema. The local stack runs the registry on PostgreSQL; this test
 * writes records under several schema versions, restarts the registry process, and decodes every stored record
 * again. The check of a record's schema reads the registry's REST API directly and decodes with avsc and the
 * schema the test wrote — not through the registry client the services use.
 */
import { afterAll, describe, expect, it } from "vitest";
import avsc from "avsc";
import { SchemaType } from "@kafkajs/confluent-schema-registry";
import { createKafka, createLogger, createRegistryClient, EVENT_TYPES, subscribeWhenReady, topics } from "@parcel-exchange/shared";
import { produceToNewTopic, run, STACK, testConfig, until } from "./helpers.js";

const config = testConfig("regrestart");
const log = createLogger("test", "warn");
const kafka = createKafka(config, log);
const topic = `${config.topicPrefix}.durable`;
const subject = `${config.topicPrefix}.durable-value`;
const ns = `exchange.parcel.test.d${Date.now().toString(36)}`;

const V1 = { type: "record", name: "Durable", namespace: ns, fields: [{ name: "n", type: "int" }] };
const V2 = { type: "record", name: "Durable", namespace: ns, fields: [{ name: "n", type: "int" }, { name: "note", type: ["null", "string"], default: null }] };
const OTHER = { type: "record", name: "Other", namespace: ns, fields: [{ name: "city", type: "string" }] };

/** The schema text the registry holds for an id, over its REST API. */
async function schemaById(id: number): Promise<{ status: number; schema?: unknown }> {
  const auth = config.registry.username ? { authorization: `Basic ${Buffer.from(`${config.registry.username}:${config.registry.password ?? ""}`).toString("base64")}` } : {};
  const res = await fetch(`${config.registry.url.replace(/\/+$/, "")}/schemas/ids/${id}`, { headers: auth });
  if (!res.ok) return { status: res.status };
  return { status: res.status, schema: JSON.parse(((await res.json()) as { schema: string }).schema) };
}

afterAll(async () => {
  // Whatever happened, leave the registry running for the next test file.
  if (config.manageLocalStack) await run("bash", [STACK, "up"]).catch(() => undefined);
});

describe("the schema registry after a restart", () => {
  it.skipIf(!config.manageLocalStack)("still holds every id with its original schema, and every stored record decodes as it was written", async () => {
    const registry = createRegistryClient(config);
    const ids = {
      v1: (await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(V1) }, { subject })).id,
      v2: (await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(V2) }, { subject })).id,
      other: (await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(OTHER) }, { subject: `${config.topicPrefix}.other-value` })).id,
    };
    expect(new Set(Object.values(ids)).size).toBe(3);
    const written = [
      { schema: V1, id: ids.v1, value: { n: 1 } },
      { schema: V2, id: ids.v2, value: { n: 2, note: "二号" } },
      { schema: OTHER, id: ids.other, value: { city: "杭州市" } },
      { schema: V1, id: ids.v1, value: { n: 3 } },
    ];
    await produceToNewTopic(kafka, config, topic, await Promise.all(written.map(async (w, i) => ({ key: "k", value: await registry.encode(w.id, w.value), headers: { i: String(i) } }))));
    // The deployment's event schemas, registered by provisioning before this file ran.
    const eventSubjects = EVENT_TYPES.map((t) => topics(config.topicPrefix).subject(t));
    const eventIds = await Promise.all(eventSubjects.map((s) => registry.getLatestSchemaId(s)));

    await run("bash", [STACK, "restart", "registry"], { timeout: 180_000 });

    for (const w of written) {
      const held = await schemaById(w.id);
      expect(held.status, `schema id ${w.id} after the restart`).toBe(200);
      expect(avsc.Type.forSchema(held.schema as avsc.Schema).equals(avsc.Type.forSchema(w.schema as avsc.Schema)), `schema id ${w.id} is still ${w.schema.name} as written`).toBe(true);
    }
    const fresh = createRegistryClient(config); // nothing cached
    expect(await Promise.all(eventSubjects.map((s) => fresh.getLatestSchemaId(s)))).toEqual(eventIds);

    const consumer = kafka.consumer({ groupId: `${config.router.groupId}-regrestart` });
    const got: { i: number; buf: Buffer }[] = [];
    await consumer.connect();
    await subscribeWhenReady(consumer, { topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void got.push({ i: Number(String(message.headers?.i)), buf: message.value! }) });
    await until("every stored record", () => (new Set(got.map((g) => g.i)).size === written.length ? true : undefined), 60_000);
    await consumer.disconnect();
    for (const { i, buf } of got) {
      const w = written[i]!;
      expect(buf.readInt32BE(1)).toBe(w.id);
      // Decoded with the schema the registry now holds for the record's id, and with the one the test wrote.
      const held = await schemaById(buf.readInt32BE(1));
      expect(avsc.Type.forSchema(held.schema as avsc.Schema).fromBuffer(buf.subarray(5))).toEqual(w.value);
      expect(await fresh.decode(buf)).toEqual(w.value);
    }
  }, 300_000);
});
