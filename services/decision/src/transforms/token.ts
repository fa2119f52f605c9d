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

/**
 * Recent tokens per recipient key. A parcel's events repeat the same phone and staff values, and an HMAC costs
 * microseconds, so tokens are remembered; the cache is emptied when full (a cheap bound on memory).
 */
const CACHE_LIMIT = 8192;
const caches = new Map<string, Map<string, string>>();

function cachedTokenOf(key: Buffer, cache: Map<string, string>, value: string): string {
  let t = cache.get(value);
  if (t === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    t = tokenOf(key, value);
    cache.set(value, t);
  }
  return t;
}

export function tokenTransform(masterKey: string, recipient: string): FieldTransform {
  const key = recipientKey(masterKey, recipient);
  const id = key.toString("base64url");
  let cache = caches.get(id);
  if (cache === undefined) caches.set(id, (cache = new Map()));
  const c = cache;
  return {
    action: "token",
    apply(value) {
      if (typeof value === "string") return cachedTokenOf(key, c, value);
      if (typeof value === "object" && value !== null && "province" in value) {
        // An address becomes an opaque reference in its detail; the region parts are emptied.
        const a = value as { province: string; city: string; district: string; detail: string | null };
        return { province: "", city: "", district: "", detail: tokenOf(key, [a.province, a.city, a.district, a.detail ?? ""].join("\u0000")) };
      }
      return null;
    },
  };
}
