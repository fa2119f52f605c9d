/**
 * Applies a ProvisionPlan to a cluster and its registry, as the admin principal; idempotent, and converging: a
 * principal's ACLs become exactly the plan's (rights the plan no longer grants are deleted). Adding a party is a
 * new run of the same plan; no broker restarts.
 *
 * kafkajs has no calls for SCRAM credentials or client quotas, so those two go through @platformatic/kafka's
 * protocol API on one connection; topics and ACLs go through kafkajs's admin client.
 */
import { pbkdf2Sync, randomBytes } from "node:crypto";
import kafkajs, { type Admin, type Kafka, type AclEntry } from "kafkajs";
import { Connection, alterClientQuotasV1, alterUserScramCredentialsV0 } from "@platformatic/kafka";
import {
  RegistryHttp,
  ensureTopics,
  topicSpecConfigs,
  errorChain,
  platformaticConnection,
  registerEventSchemas,
  registerSchema,
  schemaJsonFile,
  topics as topicsOf,
  whenReady,
  type Config,
  type Logger,
} from "@parcel-exchange/shared";
import { ensureCredential, type Credential } from "./credentials.js";
import { ProvisionError } from "./errors.js";
import { topicConfigDrift, type AclRule, type ProvisionPlan } from "./plan.js";

// kafkajs is CommonJS: its enums are reachable through the default export only.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ConfigResourceTypes, ResourcePatternTypes } = kafkajs;
type AclResourceTypes = kafkajs.AclResourceTypes;
type ResourcePatternTypes = kafkajs.ResourcePatternTypes;
type AclOperationTypes = kafkajs.AclOperationTypes;

const SCRAM_SHA_512 = 2;
const SCRAM_ITERATIONS = 8192;

const RESOURCE: Record<AclRule["resourceType"], AclResourceTypes> = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  "transactional-id": AclResourceTypes.TRANSACTIONAL_ID,
};
const PATTERN: Record<AclRule["patternType"], ResourcePatternTypes> = { literal: ResourcePatternTypes.LITERAL, prefixed: ResourcePatternTypes.PREFIXED };
const OPERATION: Record<AclRule["operation"], AclOperationTypes> = {
  read: AclOperationTypes.READ,
  write: AclOperationTypes.WRITE,
  describe: AclOperationTypes.DESCRIBE,
  "describe-configs": AclOperationTypes.DESCRIBE_CONFIGS,
};

function toEntry(r: AclRule): AclEntry {
  return {
    resourceType: RESOURCE[r.resourceType],
    resourceName: r.name,
    resourcePatternType: PATTERN[r.patternType],
    principal: `User:${r.principal}`,
    host: "*",
    operation: OPERATION[r.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}

const entryKey = (e: AclEntry): string => [e.resourceType, e.resourcePatternType, e.resourceName, e.principal, e.host, e.operation, e.permissionType].join("|");

export interface ApplyResult {
  readonly credentials: readonly Credential[];
  readonly topicsEnsured: number;
  readonly aclsCreated: number;
  readonly aclsDeleted: number;
  readonly registryUsersCreated: number;
}

export interface ApplyOptions {
  /** Where the principals' generated passwords are kept (mode 0600). */
  readonly credentialsDir: string;
  readonly log?: Logger;
}

/** Runs the plan as the admin principal of `config` (Kafka super user, registry super_admin). */
export async function applyPlan(plan: ProvisionPlan, config: Config, kafka: Kafka, opts: ApplyOptions): Promise<ApplyResult> {
  const credentials = plan.identities.map((i) => ensureCredential(opts.credentialsDir, i.principal));
  const admin = kafka.admin();
  await admin.connect();
  try {
    await assertAdmin(admin);
    await ensureTopics(admin, config, plan.topics);
    await convergeTopicConfigs(admin, config, plan, opts.log);
    await upsertScram(config, credentials);
    const { created, deleted } = await convergeAcls(admin, plan);
    await setQuotas(config, plan);
    const registryUsersCreated = await ensureRegistryUsers(config, credentials);
    await registerEventSchemas(config, topicsOf(plan.prefix));
    await registerSchema(config, topicsOf(plan.prefix).noticeSubject, schemaJsonFile("PolicyNotice"));
    opts.log?.info({ prefix: plan.prefix, identities: credentials.length, topics: plan.topics.length, aclsCreated: created, aclsDeleted: deleted }, "provisioned");
    return { credentials, topicsEnsured: plan.topics.length, aclsCreated: created, aclsDeleted: deleted, registryUsersCreated };
  } finally {
    await admin.disconnect();
  }
}

/** Sets, on existing topics, the configs their spec names but they lack (incrementally: nothing else changes). */
async function convergeTopicConfigs(admin: Admin, config: Config, plan: ProvisionPlan, log: Logger | undefined): Promise<void> {
  const specs = plan.topics.filter((t) => Object.keys(topicSpecConfigs(t)).length > 0);
  if (specs.length === 0) return;
  const described = await whenReady("describe topic configs", () => admin.describeConfigs({ includeSynonyms: false, resources: specs.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.topic })) }));
  for (const spec of specs) {
    const entries = described.resources.find((r) => r.resourceName === spec.topic)?.configEntries ?? [];
    const drift = topicConfigDrift(spec, Object.fromEntries(entries.map((e) => [e.configName, e.configValue])));
    if (Object.keys(drift).length === 0) continue;
    // kafkajs's alterConfigs replaces a resource's whole dynamic config: send every config the spec names, and min ISR.
    const all = { ...topicSpecConfigs(spec), "min.insync.replicas": String(config.kafka.minInsyncReplicas) };
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: spec.topic, configEntries: Object.entries(all).map(([name, value]) => ({ name, value })) }] });
    log?.warn({ topic: spec.topic, changed: drift }, "topic config converged to the plan");
  }
}

async function assertAdmin(admin: Admin): Promise<void> {
  try {
    await whenReady("describe ACLs", () =>
      admin.describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }),
    );
  } catch (err) {
    if (errorChain(err).some((e) => /AUTHORIZATION|not authorized/i.test(`${(e as { type?: string }).type ?? ""} ${(e as Error).message ?? ""}`))) {
      throw new ProvisionError("NOT_ADMIN", "provisioning needs the cluster's admin principal (a super user): the broker refused to list ACLs", [], { cause: err });
    }
    throw err;
  }
}

async function withConnection<T>(config: Config, fn: (c: Connection) => Promise<T>): Promise<T> {
  const opts = platformaticConnection(config);
  const [host, port] = splitHostPort(config.kafka.brokers[0]!);
  const conn = new Connection(opts.clientId, { ...(opts.tls ? { tls: opts.tls } : {}), ...(opts.sasl ? { sasl: opts.sasl } : {}), connectTimeout: 10_000, requestTimeout: 30_000 });
  await conn.connect(host, port);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

function splitHostPort(b: string): [string, number] {
  const i = b.lastIndexOf(":");
  return [b.slice(0, i).replace(/^\[|\]$/g, ""), Number(b.slice(i + 1))];
}

/** SCRAM-SHA-512 credentials (RFC 5802 SaltedPassword = PBKDF2-HMAC-SHA-512(password, salt, i)); new salt each run. */
async function upsertScram(config: Config, credentials: readonly Credential[]): Promise<void> {
  await withConnection(config, async (conn) => {
    const upsertions = credentials.map((c) => {
      const salt = randomBytes(32);
      return { name: c.principal, mechanism: SCRAM_SHA_512, iterations: SCRAM_ITERATIONS, salt, saltedPassword: pbkdf2Sync(c.password, salt, SCRAM_ITERATIONS, 64, "sha512") };
    });
    const res = await alterUserScramCredentialsV0.api.async(conn, [], upsertions);
    const failed = res.results.filter((r) => r.errorCode !== 0);
    if (failed.length > 0) {
      throw new ProvisionError("BROKER_REFUSED", `the broker refused SCRAM credentials of ${failed.map((f) => `${f.user} (${f.errorMessage ?? f.errorCode})`).join(", ")}`);
    }
  });
}

async function convergeAcls(admin: Admin, plan: ProvisionPlan): Promise<{ created: number; deleted: number }> {
  const want = new Map(plan.acls.map((r) => { const e = toEntry(r); return [entryKey(e), e] as const; }));
  let created = 0;
  let deleted = 0;
  for (const id of plan.identities) {
    const principal = `User:${id.principal}`;
    const have = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal,
      host: "*",
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    const existing = new Map<string, AclEntry>();
    for (const r of have.resources) {
      for (const a of r.acls) {
        const e: AclEntry = { resourceType: r.resourceType, resourceName: r.resourceName, resourcePatternType: r.resourcePatternType, principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType };
        existing.set(entryKey(e), e);
      }
    }
    const missing = [...want].filter(([k, e]) => e.principal === principal && !existing.has(k)).map(([, e]) => e);
    const extra = [...existing].filter(([k]) => !want.has(k)).map(([, e]) => e);
    if (missing.length > 0) {
      await admin.createAcls({ acl: missing });
      created += missing.length;
    }
    if (extra.length > 0) {
      await admin.deleteAcls({ filters: extra });
      deleted += extra.length;
    }
  }
  return { created, deleted };
}

async function setQuotas(config: Config, plan: ProvisionPlan): Promise<void> {
  if (plan.quotas.length === 0) return;
  await withConnection(config, async (conn) => {
    const entries = plan.quotas.map((q) => ({
      entities: [{ entityType: "user" as const, entityName: q.principal }],
      ops: [
        { key: "producer_byte_rate" as const, value: q.producerByteRate, remove: false as const },
        { key: "consumer_byte_rate" as const, value: q.consumerByteRate, remove: false as const },
      ],
    }));
    const res = await alterClientQuotasV1.api.async(conn, entries, false);
    const failed = res.entries.filter((e) => e.errorCode !== 0);
    if (failed.length > 0) throw new ProvisionError("BROKER_REFUSED", `the broker refused client quotas: ${failed.map((f) => f.errorMessage ?? f.errorCode).join(", ")}`);
  });
}

interface RegistryUser {
  readonly id: number;
  readonly username: string;
  readonly role: string;
}

/** Registry users (role readonly) for every principal; a user that exists gets its password and role reset. */
async function ensureRegistryUsers(config: Config, credentials: readonly Credential[]): Promise<number> {
  const http = new RegistryHttp(config);
  let created = 0;
  let listed: RegistryUser[] | { users?: RegistryUser[] } | undefined;
  try {
    listed = await http.request<RegistryUser[] | { users?: RegistryUser[] }>("GET", "/admin/users");
  } catch (err) {
    throw new ProvisionError("REGISTRY_REFUSED", `the registry refused to list its users (${(err as Error).message}); provisioning needs the registry's admin (SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD)`, [], { cause: err });
  }
  const users = Array.isArray(listed) ? listed : (listed?.users ?? []);
  const byName = new Map(users.map((u) => [u.username, u]));
  for (const c of credentials) {
    const u = byName.get(c.principal);
    if (u === undefined) {
      await http.request("POST", "/admin/users", { username: c.principal, password: c.password, role: "readonly", enabled: true });
      created++;
    } else {
      await http.request("PUT", `/admin/users/${u.id}`, { password: c.password, role: "readonly", enabled: true });
    }
  }
  return created;
}

/**
 * Removes a deployment's identities: their ACLs, SCRAM credentials, client quotas, registry users and credential files (test runs
 * and demo runs clean up after themselves). Topics are deleted separately (deleteTopicsWithPrefix).
 */
export async function deprovision(plan: Pick<ProvisionPlan, "identities">, config: Config, kafka: Kafka): Promise<void> {
  if (plan.identities.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteAcls({
      filters: plan.identities.map((i) => ({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        principal: `User:${i.principal}`,
        host: "*",
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      })),
    });
  } finally {
    await admin.disconnect();
  }
  await withConnection(config, async (conn) => {
    await alterUserScramCredentialsV0.api.async(conn, plan.identities.map((i) => ({ name: i.principal, mechanism: SCRAM_SHA_512 })), []).catch(() => undefined);
    const removals = plan.identities.map((i) => ({
      entities: [{ entityType: "user" as const, entityName: i.principal }],
      ops: [{ key: "producer_byte_rate" as const, remove: true as const }, { key: "consumer_byte_rate" as const, remove: true as const }],
    }));
    await alterClientQuotasV1.api.async(conn, removals, false).catch(() => undefined);
  });
  const http = new RegistryHttp(config);
  const listed = await http.request<RegistryUser[] | { users?: RegistryUser[] }>("GET", "/admin/users").catch(() => undefined);
  const users = Array.isArray(listed) ? listed : (listed?.users ?? []);
  const names = new Set(plan.identities.map((i) => i.principal));
  for (const u of users) if (names.has(u.username)) await http.request("DELETE", `/admin/users/${u.id}`).catch(() => undefined);
}
