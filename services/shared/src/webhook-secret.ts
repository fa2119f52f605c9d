/**
 * Webhook signing secrets in the Standard Webhooks form: `whsec_` + base64 of 24 random bytes. The policy
 * service makes them when an endpoint is registered or rotated; the gateway signs with them.
 */
import { createHash, randomBytes } from "node:crypto";

export const WEBHOOK_SECRET_PREFIX = "whsec_";

/** A new random secret. */
export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(24).toString("base64");
}

/** The key bytes of a `whsec_` secret (the part after the prefix, base64). */
export function webhookSecretBytes(secret: string): Buffer {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) throw new TypeError("a webhook secret starts with whsec_");
  const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), "base64");
  if (key.length < 24) throw new TypeError("a webhook secret holds at least 24 bytes");
  return key;
}

/** A secret's public fingerprint: the first 8 hex digits of its SHA-256, shown instead of the secret. */
export function webhookSecretId(secret: string): string {
  return createHash("sha256").update(secret).digest("hex").slice(0, 8);
}
