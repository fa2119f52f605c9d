/**
 * Policy notices: before a change that reduces what a party receives takes effect, the party gets a
 * PolicyNotice on its own delivery topic (marked with the notice header, keyed notice:<proposal>). A party
 * is also told, the same way, when the gateway disables one of its webhook endpoints (`webhook:<id>`).
 *
 * One NoticePublisher per service holds one schema registry client, one admin connection and one producer,
 * connected once and reused for every notice.
 */
import { randomUUID } from "node:crypto";
import type { Admin, Kafka, Producer } from "kafkajs";
import { SchemaType, type SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import { createRegistryClient, ensureTopics, HEADERS, idempotentProducer, lookupSchemaId, RegistryHttp, schemaJsonFile, topics, type Config, type Topics } from "@parcel-exchange/shared";
import type { FieldChange, Proposal } from "./api.js";
import { DELIVERY } from "./impact.js";

/** The PolicyNotice record (schemas/avro PolicyNotice). */
export interface PolicyNoticeValue {
  readonly noticeId: string;
  readonly proposalId: string;
  readonly party: string;
  readonly proposedVersion: string;
  /** Epoch milliseconds. */
  readonly effectiveAt: number;
  readonly summary: string;
  readonly changes: readonly string[];
}

/** One line of a notice per reduction. */
export function noticeLine(c: FieldChange): string {
  return c.field === DELIVERY ? `${c.eventType}: no longer delivered (${c.cases} cases)` : `${c.eventType}.${c.field}: ${c.from} → ${c.to} (${c.cases} cases)`;
}

/** The notices a scheduled proposal sends: one per party that loses something. */
export function noticesOf(p: Proposal, newId: () => string = randomUUID): PolicyNoticeValue[] {
  if (p.effectiveAt === undefined) throw new TypeError(`proposal ${p.id} has no effectiveAt; only scheduled proposals send notices`);
  const byParty = new Map<string, FieldChange[]>();
  for (const r of p.impact.reductions) byParty.set(r.party, [...(byParty.get(r.party) ?? []), r]);
  return [...byParty].map(([party, changes]) => ({
    noticeId: newId(),
    proposalId: p.id,
    party,
    proposedVersion: p.proposedVersion,
    effectiveAt: Date.parse(p.effectiveAt!),
    summary: `${p.description} — takes effect ${p.effectiveAt}`,
    changes: changes.map(noticeLine),
  }));
}

/** The notice a party gets when the gateway disables one of its webhook endpoints. */
export function webhookDisabledNotice(e: { readonly id: string; readonly party: string; readonly url: string }, reason: string, policyVersion: string, at: number, newId: () => string = randomUUID): PolicyNoticeValue {
  return { noticeId: newId(), proposalId: `webhook:${e.id}`, party: e.party, proposedVersion: policyVersion, effectiveAt: at, summary: `Webhook endpoint ${e.url} disabled: ${reason}`, changes: [] };
}

export class NoticePublisher {
  private schemaId: Promise<number> | undefined;

  private constructor(
    private readonly config: Config,
    private readonly t: Topics,
    private readonly registry: SchemaRegistry,
    private readonly admin: Admin,
    private readonly producer: Producer,
  ) {}

  static async connect(kafka: Kafka, config: Config): Promise<NoticePublisher> {
    const admin = kafka.admin();
    await admin.connect();
    const producer = idempotentProducer(kafka);
    try {
      await producer.connect();
    } catch (err) {
      await admin.disconnect();
      throw err;
    }
    return new NoticePublisher(config, topics(config.topicPrefix), createRegistryClient(config), admin, producer);
  }

  /**
   * The PolicyNotice schema's id: looked up with read-only calls (provisioning registers it; the policy service's
   * registry user is read-only), registered only when missing and this client may register. A failure is tried
   * again next time.
   */
  private noticeSchemaId(): Promise<number> {
    const schema = schemaJsonFile("PolicyNotice");
    this.schemaId ??= lookupSchemaId(new RegistryHttp(this.config), this.t.noticeSubject, schema)
      .then(async (id) => id ?? (await this.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: this.t.noticeSubject })).id)
      .catch((err: unknown) => {
        this.schemaId = undefined;
        throw err;
      });
    return this.schemaId;
  }

  /**
   * Sends each notice to its party's delivery topic (created when missing), stamped with the version in
   * force, and calls `sent` after each one.
   */
  async publish(notices: readonly PolicyNoticeValue[], policyVersion: string, sent: (n: PolicyNoticeValue) => Promise<void>): Promise<void> {
    if (notices.length === 0) return;
    const id = await this.noticeSchemaId();
    await ensureTopics(this.admin, this.config, [...new Set(notices.map((n) => n.party))].map((party) => ({ topic: this.t.deliver(party) })));
    for (const n of notices) {
      const value = await this.registry.encode(id, n);
      await this.producer.send({ topic: this.t.deliver(n.party), acks: -1, messages: [{ key: `notice:${n.proposalId}`, value, headers: { [HEADERS.notice]: "1", [HEADERS.policyVersion]: policyVersion } }] });
      await sent(n);
    }
  }

  /** Tells the owner of a webhook endpoint that it was disabled (see webhookDisabledNotice). */
  async webhookDisabled(e: { readonly id: string; readonly party: string; readonly url: string }, reason: string, policyVersion: string, at: number): Promise<PolicyNoticeValue> {
    const notice = webhookDisabledNotice(e, reason, policyVersion, at);
    await this.publish([notice], policyVersion, async () => undefined);
    return notice;
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}
