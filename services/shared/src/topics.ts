/** Topic names, all under one configurable prefix. */
import type { EventType } from "./schemas.js";

export interface Topics {
  readonly raw: Readonly<Record<EventType, string>>;
  readonly deadLetter: string;
  readonly policy: string;
  readonly policyVersions: string;
  readonly policyProposals: string;
  readonly ledger: string;
  /** Per-minute delivery counts that routers report and the policy service records in the ledger. */
  readonly deliveryCounts: string;
  /** Subject of the PolicyNotice schema. */
  readonly noticeSubject: string;
  deliver(party: string): string;
}

const RAW_SUFFIX: Record<EventType, string> = { OrderCreated: "orders", TrackingEvent: "tracking", LockerEvent: "locker" };

export function topics(prefix: string): Topics {
  return {
    raw: {
      OrderCreated: `${prefix}.raw.${RAW_SUFFIX.OrderCreated}`,
      TrackingEvent: `${prefix}.raw.${RAW_SUFFIX.TrackingEvent}`,
      LockerEvent: `${prefix}.raw.${RAW_SUFFIX.LockerEvent}`,
    },
    deadLetter: `${prefix}.deadletter`,
    policy: `${prefix}.policy`,
    policyVersions: `${prefix}.policy.versions`,
    policyProposals: `${prefix}.policy.proposals`,
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
