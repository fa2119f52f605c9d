/**
 * Runs in every integration test file: before its tests, each deployment the file configured (testConfig) gets
 * the event schemas registered and the ingress topics of the parties in policies/data/parties.json, as the
 * exchange's provisioning would give it (publishers no longer register or create anything themselves). Tests act
 * as the admin principal; test/isolation.int.test.ts provisions a whole deployment and acts as its principals.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll } from "vitest";
import { createKafka, createLogger, ensureTopics, ingressTopicsOf, registerEventSchemas, topics } from "@parcel-exchange/shared";
import { ROOT, testDeployments } from "./helpers.js";

const parties = (JSON.parse(readFileSync(join(ROOT, "policies/data/parties.json"), "utf8")) as { parties: Record<string, { kind: string }> }).parties;

beforeAll(async () => {
  for (const config of testDeployments.splice(0)) {
    const admin = createKafka(config, createLogger("test-provision", "warn")).admin();
    await admin.connect();
    try {
      await registerEventSchemas(config, topics(config.topicPrefix));
      await ensureTopics(admin, config, ingressTopicsOf(config.topicPrefix, parties).map((topic) => ({ topic })));
    } finally {
      await admin.disconnect();
    }
  }
}, 120_000);
