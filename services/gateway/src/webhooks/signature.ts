/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/). Receivers verify deliveries with any
 * Standard Webhooks library instead of code of ours: the signed content is `${id}.${timestamp}.${body}`,
 * HMAC-SHA256 keyed with the bytes of a `whsec_` secret, sent as `v1,<base64>`. During a secret rotation
 * the gateway signs with both the old and the new secret (space-separated), so a receiver holding either
 * accepts the delivery and the rotation needs no coordinated switch-over.
 */
import { createHmac } from "node:crypto";
import { webhookSecretBytes } from "@parcel-exchange/shared";

/** The `webhook-signature` header value: one `v1,<sig>` per secret, space-separated. */
export function signatureHeader(secrets: readonly string[], id: string, timestampSec: number, body: string): string {
  if (secrets.length === 0) throw new TypeError("a webhook is signed with at least one secret");
  if (!Number.isSafeInteger(timestampSec)) throw new TypeError("webhook-timestamp is whole seconds since the epoch");
  const content = `${id}.${timestampSec}.${body}`;
  return secrets.map((s) => `v1,${createHmac("sha256", webhookSecretBytes(s)).update(content, "utf8").digest("base64")}`).join(" ");
}

export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
  "content-type": "application/json";
  [name: string]: string;
}

/** Every header a delivery carries: the three Standard Webhooks headers and the JSON content type. */
export function webhookHeaders(secrets: readonly string[], id: string, timestampSec: number, body: string): WebhookHeaders {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSec),
    "webhook-signature": signatureHeader(secrets, id, timestampSec, body),
    "content-type": "application/json",
  };
}
