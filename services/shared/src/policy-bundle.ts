/**
 * A compiled policy as it travels from the build step to every router: the Wasm module, the data documents
 * (parties, contracts, regulator tables) and a version that names exactly that content.
 */
import { createHash } from "node:crypto";
import type { Signer, Verifier } from "./signing.js";

export interface PolicyBundle {
  /** `<label>+<sha256 of wasm and data, 12 hex>`; the same content always gets the same hash. */
  readonly version: string;
  readonly createdAt: string;
  readonly wasm: Buffer;
  readonly data: PolicyData;
  /** The Rego the Wasm was compiled from (path → text), so a later change can start from it. */
  readonly rego?: Readonly<Record<string, string>>;
  /** Ed25519 signature of the policy service over `signedText(bundle)`. Routers refuse unsigned bundles. */
  readonly signature?: { readonly keyId: string; readonly sig: string };
}

/** What a bundle's signature covers: its version, which names the hash of the Wasm and the data. */
export const signedText = (b: Pick<PolicyBundle, "version">): string => `px-policy-bundle-v1\n${b.version}`;

export function signBundle(b: PolicyBundle, signer: Signer): PolicyBundle {
  return { ...b, signature: { keyId: signer.keyId, sig: signer.sign(signedText(b)) } };
}

export function bundleSignatureValid(b: PolicyBundle, verifier: Verifier): boolean {
  return b.signature !== undefined && b.signature.keyId === verifier.keyId && verifier.verify(signedText(b), b.signature.sig);
}

export interface PartyInfo {
  readonly kind: "marketplace" | "courier" | "locker";
  readonly name?: string;
  readonly network?: string;
}

export interface PolicyData {
  readonly parties: Readonly<Record<string, PartyInfo>>;
  readonly [doc: string]: unknown;
}

export function contentHash(wasm: Buffer, data: unknown): string {
  return createHash("sha256").update(wasm).update(canonicalJson(data)).digest("hex").slice(0, 12);
}

/** JSON with object keys sorted, so equal documents hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Wire form on the policy topic: JSON with the Wasm module in base64. */
export function serializeBundle(b: PolicyBundle): Buffer {
  return Buffer.from(JSON.stringify({ version: b.version, createdAt: b.createdAt, wasm: b.wasm.toString("base64"), data: b.data, rego: b.rego, signature: b.signature }));
}

export function parseBundle(buf: Buffer): PolicyBundle {
  const o = JSON.parse(buf.toString("utf8")) as { version?: unknown; createdAt?: unknown; wasm?: unknown; data?: unknown; rego?: unknown; signature?: unknown };
  if (typeof o.version !== "string" || typeof o.wasm !== "string" || typeof o.data !== "object" || o.data === null) {
    throw new Error("policy bundle lacks version, wasm or data");
  }
  const data = o.data as PolicyData;
  if (typeof data.parties !== "object" || data.parties === null) throw new Error("policy bundle data has no parties document");
  const wasm = Buffer.from(o.wasm, "base64");
  const hash = o.version.slice(o.version.lastIndexOf("+") + 1);
  if (hash !== contentHash(wasm, data)) throw new Error(`policy bundle ${o.version} does not match its content hash`);
  const sig = o.signature as { keyId?: unknown; sig?: unknown } | undefined;
  return {
    version: o.version,
    createdAt: typeof o.createdAt === "string" ? o.createdAt : "",
    wasm,
    data,
    ...(typeof o.rego === "object" && o.rego !== null ? { rego: o.rego as Record<string, string> } : {}),
    ...(sig && typeof sig.keyId === "string" && typeof sig.sig === "string" ? { signature: { keyId: sig.keyId, sig: sig.sig } } : {}),
  };
}

/** Key of the current router policy on the compacted policy topic. */
export const ROUTER_POLICY_KEY = "router";
