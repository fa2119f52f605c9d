/**
 * Keyed HMAC tokens: stable for one recipient (it can join its own records on them), unlinkable across
 * recipients (each recipient's key is derived from the master key and its party id).
 */
import { createHmac } from "node:crypto";
import type { FieldTransform } from "./transform.js";

export function recipientKey(masterKey: string, recipient: string): Buffer {
  return createHmac("sha256", masterKey).update(`px-token-v1:${recipient}`).digest();
}

export function tokenOf(key: Buffer, value: string): string {
  return `tok_${createHmac("sha256", key).update(value).digest("base64url").slice(0, 22)}`;
}

export function tokenTransform(masterKey: string, recipient: string): FieldTransform {
  const key = recipientKey(masterKey, recipient);
  return {
    action: "token",
    apply(value) {
      if (typeof value === "string") return tokenOf(key, value);
      if (typeof value === "object" && value !== null && "province" in value) {
        // An address becomes an opaque reference in its detail; the region parts are emptied.
        const a = value as { province: string; city: string; district: string; detail: string | null };
        return { province: "", city: "", district: "", detail: tokenOf(key, [a.province, a.city, a.district, a.detail ?? ""].join("\u0000")) };
      }
      return null;
    },
  };
}
