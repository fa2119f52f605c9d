/**
 * A router that cannot route says so and exits: /healthz answers 200 while it routes; when its consumer stops
 * for good (here: the broker withdraws the router's right to read the ingress topics, a non-retriable error),
 * the process exits non-zero with a clear log line instead of staying alive and routing nothing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import kafkajs from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafka, createLogger, loadConfig, topics, type Config } from "@parcel-exchange/shared";
import { credentialEnv, deprovisionDeployment, provisionDeployment, readParties, type Credential } from "@parcel-exchange/provision";
import { envOf, publishPolicy, spawnRouter } from "./harness.js";
import { ROOT, testConfig, until } from "./helpers.js";

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
const log = createLogger("test", "silent");
const admin = testConfig("health");
const prefix = admin.topicPrefix;
const parties = readParties(join(ROOT, "policies/data/parties.json"));
let credDir: string;
const creds = new Map<string, Credential>();

function as(id: string): Config {
  return loadConfig({ ...process.env, NODE_ENV: "test", PX_LOG_LEVEL: "silent", PX_TOPIC_PREFIX: prefix, PX_ROUTER_GROUP: `${prefix}.router.routers`, PX_TOPIC_PARTITIONS: "3", ...credentialEnv(creds.get(`${prefix}.${id}`)!) });
}

beforeAll(async () => {
  credDir = await mkdtemp(join(tmpdir(), "px-health-"));
  for (const c of (await provisionDeployment({ config: admin, parties, credentialsDir: credDir, log })).credentials) creds.set(c.principal, c);
  await publishPolicy(as("policy"));
});

afterAll(async () => {
  await deprovisionDeployment({ config: admin, parties, credentialsDir: credDir, log }).catch(() => undefined);
  await rm(credDir, { recursive: true, force: true });
});

describe("router health", () => {
  it("answers /healthz while routing, and exits non-zero when its consumer stops for good", async () => {
    const port = 41_000 + Math.floor(Math.random() * 10_000);
    const router = as("router");
    const { child } = await spawnRouter({ ...envOf(router), PX_METRICS_PORT: String(port), PX_ROUTER_SESSION_TIMEOUT_MS: "10000" });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const healthy = await until("the router to report routing", async () => {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return res?.status === 200 ? ((await res.json()) as { ok: boolean; routing: boolean }) : undefined;
      }, 30_000);
      expect(healthy).toMatchObject({ ok: true, routing: true });

      // The broker withdraws the router's right to read the ingress topics.
      const a = createKafka(admin, log).admin();
      await a.connect();
      await a.deleteAcls({
        filters: [{ resourceType: AclResourceTypes.TOPIC, resourceName: topics(prefix).rawPrefix, resourcePatternType: ResourcePatternTypes.PREFIXED, principal: `User:${prefix}.router`, host: "*", operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW }],
      });
      await a.disconnect();
      const code = await Promise.race([exited, new Promise<"alive">((r) => setTimeout(() => r("alive"), 90_000))]);
      expect(code).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
