/**
 * Topic names, all under one configurable prefix.
 *
 * Ingress: every party publishes each event type on a topic of its own, `<prefix>.raw.<party>.<orders|tracking|locker>`,
 * which only it may write (a broker ACL per party); the router checks that each record's claimed source is the
 * topic's party. Schemas are the exchange's, one subject per event type for all parties (`<prefix>.raw.<suffix>-value`).
 */
import { isPartyId } from "./identity.js";
import type { PartyInfo } from "./policy-bundle.js";
import type { EventType } from "./schemas.js";

export interface Ingress {
  readonly party: string;
  readonly type: EventType;
}

export interface Topics {
  /** The topic on which `party` publishes events of `type`. */
  ingress(party: string, type: EventType): string;
  /** What every ingress topic name starts with (`<prefix>.raw.`). */
  readonly rawPrefix: string;
  /** The party and event type of an ingress topic; undefined for any other topic. Inverse of ingress(). */
  parseIngress(topic: string): Ingress | undefined;
  /** The registry subject of an event type's schema, the same for every party. */
  subject(type: EventType): string;
  readonly deadLetter: string;
  readonly policy: string;
  readonly policyVersions: string;
  readonly policyProposals: string;
  /** Webhook endpoints (sealed by the policy service, like versions and proposals). */
  readonly policyWebhooks: string;
  /** The gateway's accepted publish requests by Idempotency-Key, written in the same transaction as their events. */
  readonly gatewayRequests: string;
  /** The gateway's webhook delivery progress: each endpoint's pending attempt per partition. */
  readonly gatewayWebhookState: string;
  readonly ledger: string;
  /** Per-minute delivery counts that routers report and the policy service records in the ledger. */
  readonly deliveryCounts: string;
  /** Subject of the PolicyNotice schema. */
  readonly noticeSubject: string;
  deliver(party: string): string;
}

const RAW_SUFFIX: Readonly<Record<EventType, string>> = { OrderCreated: "orders", TrackingEvent: "tracking", LockerEvent: "locker" };
const TYPE_OF_SUFFIX: ReadonlyMap<string, EventType> = new Map(Object.entries(RAW_SUFFIX).map(([t, s]) => [s, t as EventType]));

/** The event types each kind of party publishes (and so has ingress topics for). */
export const PUBLISHES = {
  marketplace: ["OrderCreated"],
  courier: ["TrackingEvent"],
  locker: ["LockerEvent"],
} as const satisfies Readonly<Record<PartyInfo["kind"], readonly EventType[]>>;

/** The event types a party of this kind publishes (none for a kind the exchange does not know). */
export function publishedBy(kind: string): readonly EventType[] {
  return Object.hasOwn(PUBLISHES, kind) ? PUBLISHES[kind as keyof typeof PUBLISHES] : [];
}

/** Every ingress topic of these parties (e.g. a policy bundle's `data.parties`), party by party. */
export function ingressTopicsOf(prefix: string, parties: Readonly<Record<string, { readonly kind: string }>>): string[] {
  const t = topics(prefix);
  return Object.entries(parties).flatMap(([party, { kind }]) => publishedBy(kind).map((type) => t.ingress(party, type)));
}

export function topics(prefix: string): Topics {
  const rawPrefix = `${prefix}.raw.`;
  return {
    ingress: (party, type) => `${rawPrefix}${party}.${RAW_SUFFIX[type]}`,
    rawPrefix,
    parseIngress(topic) {
      if (!topic.startsWith(rawPrefix)) return undefined;
      const rest = topic.slice(rawPrefix.length);
      const dot = rest.indexOf(".");
      if (dot < 0) return undefined;
      const party = rest.slice(0, dot);
      const type = TYPE_OF_SUFFIX.get(rest.slice(dot + 1));
      return type !== undefined && isPartyId(party) ? { party, type } : undefined;
    },
    subject: (type) => `${rawPrefix}${RAW_SUFFIX[type]}-value`,
    deadLetter: `${prefix}.deadletter`,
    policy: `${prefix}.policy`,
    policyVersions: `${prefix}.policy.versions`,
    policyProposals: `${prefix}.policy.proposals`,
    policyWebhooks: `${prefix}.policy.webhooks`,
    gatewayRequests: `${prefix}.gateway.requests`,
    gatewayWebhookState: `${prefix}.gateway.webhook-state`,
    ledger: `${prefix}.ledger`,
    deliveryCounts: `${prefix}.ledger.counts`,
    noticeSubject: `${prefix}.notices-value`,
    deliver: (party) => `${prefix}.deliver.${party}`,
  };
}

/** Header names stamped on records by the router and the SDK. */
export const HEADERS = {
  policyVersion: "px-policy-version",
  sourceEventId: "px-source-event-id",
  eventType: "px-event-type",
  transformed: "px-transformed",
  source: "px-source",
  rejectReason: "px-reject-reason",
  rejectDetail: "px-reject-detail",
  origin: "px-origin",
  /** Present (value "1") on policy notices, which share a party's delivery topic with its deliveries. */
  notice: "px-notice",
  publishedAt: "px-published-at",
} as const;
