/**
 * A party's delivery topic as the gateway reads it: each record decoded with the SDK (the same decoding a Kafka
 * subscriber gets) into an event delivery or a policy notice, and turned into the JSON a webhook or the stream
 * carries. The data is exactly what the router delivered under the policy version it stamped: fields the policy
 * removed are null, masked and tokenised fields arrive in their delivered form.
 */
import type { IHeaders, KafkaMessage } from "kafkajs";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import { decodeDelivery, DeliveryDecodeError, type Delivery, type PolicyNotice } from "@parcel-exchange/sdk";
import { HEADERS } from "@parcel-exchange/shared";

export type ReadDelivery =
  | { readonly kind: "event"; readonly delivery: Delivery; readonly timestamp: string }
  | { readonly kind: "notice"; readonly notice: PolicyNotice; readonly timestamp: string }
  | { readonly kind: "undecodable"; readonly error: DeliveryDecodeError };

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}

/** Decodes one record of a delivery topic; a registry that is down throws (DependencyError) so the caller waits. */
export async function readDelivery(registry: SchemaRegistry, topic: string, partition: number, message: KafkaMessage): Promise<ReadDelivery> {
  const timestamp = new Date(Number(message.timestamp)).toISOString();
  if (header(message.headers, HEADERS.notice) === "1" && message.value !== null) {
    try {
      return { kind: "notice", notice: structuredClone({ ...((await registry.decode(message.value)) as PolicyNotice) }), timestamp };
    } catch (err) {
      return { kind: "undecodable", error: new DeliveryDecodeError(`policy notice: ${(err as Error).message}`, { topic, partition, offset: message.offset, key: message.key?.toString() ?? null }) };
    }
  }
  try {
    return { kind: "event", delivery: await decodeDelivery(registry, topic, partition, message), timestamp };
  } catch (err) {
    if (err instanceof DeliveryDecodeError) return { kind: "undecodable", error: err };
    throw err;
  }
}

/** The JSON body of a webhook or stream event: Standard Webhooks' `{type, timestamp, data}` plus the policy stamp. */
export interface DeliveryPayload {
  readonly type: string;
  readonly timestamp: string;
  /** The event as delivered to this party. */
  readonly data: Readonly<Record<string, unknown>>;
  /** The policy version that decided what `data` holds. */
  readonly policyVersion: string;
  readonly sourceEventId: string;
  /** Fields the policy transformed, `field:action`. */
  readonly transformed: readonly string[];
}

export function payloadOf(d: Delivery, timestamp: string): DeliveryPayload {
  return {
    type: d.type,
    timestamp,
    data: d.event as unknown as Readonly<Record<string, unknown>>,
    policyVersion: d.policyVersion,
    sourceEventId: d.sourceEventId,
    transformed: d.transformed.map((t) => `${t.field}:${t.action}`),
  };
}

export function noticePayload(n: PolicyNotice, timestamp: string): { type: "PolicyNotice"; timestamp: string; data: PolicyNotice } {
  return { type: "PolicyNotice", timestamp, data: n };
}
