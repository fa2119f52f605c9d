/**
 * What a deployment's identities may do, decided from the parties file alone (pure; applied by apply.ts).
 *
 * Every party and service authenticates as `<prefix>.<id>`. Each gets exactly the rights its job needs, and may
 * use only consumer groups and transactional ids under its own name (`<prefix>.<id>.`):
 *
 * | principal | topics | groups / transactional ids |
 * |---|---|---|
 * | party p | WRITE its ingress topics `<prefix>.raw.p.<type>`; READ its delivery topic `<prefix>.deliver.p` | `<prefix>.p.` |
 * | router | READ `<prefix>.raw.*` and `<prefix>.policy`; WRITE `<prefix>.deliver.*`, `<prefix>.deadletter`, `<prefix>.ledger.counts` | `<prefix>.router.` |
 * | policy service | READ/WRITE `<prefix>.policy*` and `<prefix>.ledger*`; WRITE `<prefix>.deliver.*` (notices); READ `<prefix>.raw.*` (dry runs) | `<prefix>.policy.`, the ledger writer's id |
 * | regulator | READ `<prefix>.ledger` and `<prefix>.deadletter` | `<prefix>.regulator.` |
 * | gateway | WRITE `<prefix>.raw.*` (for parties publishing over HTTP, each to its own topics only); READ `<prefix>.deliver.*` (webhooks, stream); READ/WRITE its requests and webhook-state topics | `<prefix>.gateway.` |
 *
 * Nobody but the admin (a super user) creates, deletes or reconfigures topics or changes ACLs; a principal can
 * DESCRIBE only the topics it may use, so listing topics shows no other party's.
 */
import { EVENT_TYPES, PUBLISHES, SERVICE_IDS, type ServiceId, isPartyId, policyTopicSpec, principalOf, topicSpecConfigs, topics as topicsOf, type EventType, type TopicSpec } from "@parcel-exchange/shared";
import { ProvisionError } from "./errors.js";

export { SERVICE_IDS, type ServiceId } from "@parcel-exchange/shared";

export type ResourceType = "topic" | "group" | "transactional-id";
export type PatternType = "literal" | "prefixed";
export type Operation = "read" | "write" | "describe" | "describe-configs";

export interface AclRule {
  readonly principal: string;
  readonly resourceType: ResourceType;
  readonly patternType: PatternType;
  readonly name: string;
  readonly operation: Operation;
}

export interface PartySpec {
  readonly kind: string;
  readonly name?: string;
  /** Kafka client quotas of the party's principal, bytes per second. */
  readonly quota?: { readonly produceBytesPerSec?: number; readonly fetchBytesPerSec?: number };
}

export interface Identity {
  /** Party or service id. */
  readonly id: string;
  readonly principal: string;
  readonly role: "party" | ServiceId;
}

export interface QuotaRule {
  readonly principal: string;
  readonly producerByteRate: number;
  readonly consumerByteRate: number;
}

export interface ProvisionPlan {
  readonly prefix: string;
  readonly identities: readonly Identity[];
  readonly topics: readonly TopicSpec[];
  readonly acls: readonly AclRule[];
  readonly quotas: readonly QuotaRule[];
}

export interface PlanOptions {
  readonly prefix: string;
  readonly parties: Readonly<Record<string, PartySpec>>;
  /** The ledger writer's transactional id (one writer per deployment). */
  readonly ledgerTransactionalId: string;
  /** Quotas of a party that sets none in the parties file (bytes/s). */
  readonly defaultQuota?: { readonly produceBytesPerSec: number; readonly fetchBytesPerSec: number };
}

/** 10 MB/s in and 20 MB/s out per party unless its entry in the parties file says otherwise. */
export const DEFAULT_PARTY_QUOTA = { produceBytesPerSec: 10 * 1024 * 1024, fetchBytesPerSec: 20 * 1024 * 1024 } as const;

/** The event types a party of this kind publishes (marketplace: orders, courier: tracking, locker: locker events). */
export function publishedTypes(kind: string): readonly EventType[] {
  const types = (PUBLISHES as Readonly<Record<string, readonly EventType[] | undefined>>)[kind];
  if (types === undefined) throw new ProvisionError("PARTY_INVALID", `party kind '${kind}' is not one of ${Object.keys(PUBLISHES).join(", ")}`);
  return types;
}

export function provisionPlan(opts: PlanOptions): ProvisionPlan {
  const { prefix, parties } = opts;
  const t = topicsOf(prefix);
  const problems: string[] = [];
  for (const [id, p] of Object.entries(parties)) {
    if (!isPartyId(id)) problems.push(`party id '${id}' must be lowercase letters, digits and '-' (no dots)`);
    if ((SERVICE_IDS as readonly string[]).includes(id)) problems.push(`party id '${id}' is reserved for a service`);
    if (!(p.kind in PUBLISHES)) problems.push(`party '${id}': kind '${p.kind}' is not one of ${Object.keys(PUBLISHES).join(", ")}`);
    for (const [k, v] of Object.entries(p.quota ?? {})) {
      if (!Number.isInteger(v) || (v as number) < 1024) problems.push(`party '${id}': quota.${k} must be a whole number of bytes/s ≥ 1024`);
    }
  }
  if (problems.length > 0) throw new ProvisionError("PARTY_INVALID", `the parties file is invalid: ${problems.join("; ")}`, problems);

  const acls: AclRule[] = [];
  const allow = (principal: string, resourceType: ResourceType, patternType: PatternType, name: string, ...ops: Operation[]): void => {
    for (const operation of ops) acls.push({ principal, resourceType, patternType, name, operation });
  };
  const identities: Identity[] = [];
  const quotas: QuotaRule[] = [];
  const topics: TopicSpec[] = [];
  const dq = opts.defaultQuota ?? DEFAULT_PARTY_QUOTA;

  for (const [id, p] of Object.entries(parties).sort(([a], [b]) => a.localeCompare(b))) {
    const principal = principalOf(prefix, id);
    identities.push({ id, principal, role: "party" });
    for (const type of publishedTypes(p.kind)) {
      const ingress = t.ingress(id, type);
      topics.push({ topic: ingress });
      allow(principal, "topic", "literal", ingress, "write", "describe");
    }
    topics.push({ topic: t.deliver(id) });
    allow(principal, "topic", "literal", t.deliver(id), "read", "describe");
    allow(principal, "group", "prefixed", `${principal}.`, "read", "describe");
    allow(principal, "transactional-id", "prefixed", `${principal}.`, "write", "describe");
    quotas.push({ principal, producerByteRate: p.quota?.produceBytesPerSec ?? dq.produceBytesPerSec, consumerByteRate: p.quota?.fetchBytesPerSec ?? dq.fetchBytesPerSec });
  }

  const router = principalOf(prefix, "router");
  identities.push({ id: "router", principal: router, role: "router" });
  allow(router, "topic", "prefixed", t.rawPrefix, "read", "describe");
  allow(router, "topic", "literal", t.policy, "read", "describe");
  allow(router, "topic", "prefixed", `${prefix}.deliver.`, "write", "describe");
  allow(router, "topic", "literal", t.deadLetter, "write", "describe");
  allow(router, "topic", "literal", t.deliveryCounts, "write", "describe");
  allow(router, "group", "prefixed", `${router}.`, "read", "describe");
  allow(router, "transactional-id", "prefixed", `${router}.`, "write", "describe");

  const policy = principalOf(prefix, "policy");
  identities.push({ id: "policy", principal: policy, role: "policy" });
  for (const name of [t.policy, t.policyVersions, t.policyProposals, t.policyWebhooks, t.ledger, t.deliveryCounts]) allow(policy, "topic", "literal", name, "read", "write", "describe");
  // The ledger store refuses a ledger topic configured so that entries could be deleted: it reads the topic's configs.
  allow(policy, "topic", "literal", t.ledger, "describe-configs");
  allow(policy, "topic", "prefixed", `${prefix}.deliver.`, "write", "describe");
  allow(policy, "topic", "prefixed", t.rawPrefix, "read", "describe");
  allow(policy, "group", "prefixed", `${policy}.`, "read", "describe");
  allow(policy, "transactional-id", "literal", opts.ledgerTransactionalId, "write", "describe");
  allow(policy, "transactional-id", "prefixed", `${policy}.`, "write", "describe");

  const regulator = principalOf(prefix, "regulator");
  identities.push({ id: "regulator", principal: regulator, role: "regulator" });
  allow(regulator, "topic", "literal", t.ledger, "read", "describe", "describe-configs");
  allow(regulator, "topic", "literal", t.deadLetter, "read", "describe");
  allow(regulator, "group", "prefixed", `${regulator}.`, "read", "describe");

  const gateway = principalOf(prefix, "gateway");
  identities.push({ id: "gateway", principal: gateway, role: "gateway" });
  allow(gateway, "topic", "prefixed", t.rawPrefix, "write", "describe");
  allow(gateway, "topic", "prefixed", `${prefix}.deliver.`, "read", "describe");
  for (const name of [t.gatewayRequests, t.gatewayWebhookState]) allow(gateway, "topic", "literal", name, "read", "write", "describe");
  allow(gateway, "group", "prefixed", `${gateway}.`, "read", "describe");
  allow(gateway, "transactional-id", "prefixed", `${gateway}.`, "write", "describe");

  topics.push(
    { topic: t.gatewayRequests, compacted: true, partitions: 1 },
    { topic: t.gatewayWebhookState, compacted: true },
    { topic: t.deadLetter },
    policyTopicSpec(t.policy),
    { topic: t.policyVersions, compacted: true, partitions: 1 },
    { topic: t.policyProposals, compacted: true, partitions: 1 },
    { topic: t.policyWebhooks, compacted: true, partitions: 1 },
    { topic: t.ledger, partitions: 1, retentionMs: -1, configs: { "retention.bytes": "-1", "cleanup.policy": "delete" } },
    { topic: t.deliveryCounts, partitions: 1 },
  );
  return { prefix, identities, topics, acls, quotas };
}

/**
 * The configs a topic spec sets explicitly (cleanup policy, retention, extras) that an existing topic does not
 * have, name → wanted value. A topic made before the spec changed (e.g. a policy topic once compacted) is
 * converged to it.
 */
export function topicConfigDrift(spec: TopicSpec, actual: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(topicSpecConfigs(spec)).filter(([k, v]) => actual[k] !== v));
}

/** Every event type's schema subject (registered by the admin; parties and services only read them). */
export const eventSubjects = (prefix: string): string[] => EVENT_TYPES.map((type) => topicsOf(prefix).subject(type));
