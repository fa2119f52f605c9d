/**
 * A compiled policy as it travels from the build step to every router: the Wasm module, the data documents
 * (parties, contracts, regulator tables) and a version that names exactly that content.
 */
import { createHash } from "node:crypto";
import { BundleRefusedError } from "./errors.js";
import type { Signer, Verifier } from "./signing.js";

export interface PolicyBundle {
  /** `<label>+<sha256 of wasm and data, 12 hex>`; the same content always gets the same hash. */
  readonly version: string;
  readonly createdAt: string;
  readonly wasm: Buffer;
  readonly data: PolicyData;
  /** The Rego the Wasm was compiled from (path → text), so a later change can start from it. */
  readonly rego?: Readonly<Record<string, string>>;
  /** What makes this bundle the one to apply: order, deployment, the ledger entry. Set when it is signed. */
  readonly release?: BundleRelease;
  /** Ed25519 signature of the policy service over `signedText(bundle)`. Routers refuse unsigned bundles. */
  readonly signature?: { readonly keyId: string; readonly sig: string };
}

/** A reference to one ledger entry: its sequence number and hash. */
export interface LedgerRef {
  readonly seq: number;
  readonly hash: string;
}

/**
 * The release of a bundle: a router applies a bundle only when its sequence is higher than the one it applies
 * (a rollback is a new, higher sequence carrying old content), only for its own deployment.
 */
export interface BundleRelease {
  readonly sequence: number;
  readonly deployment: string;
  /** The ledger entry that put this bundle in force. */
  readonly ledger: LedgerRef;
}

/** SHA-256 over everything a bundle carries: the Wasm, the data and the Rego (hex). */
export function bundleDigest(b: Pick<PolicyBundle, "wasm" | "data" | "rego" | "createdAt">): string {
  return createHash("sha256")
    .update(`px-policy-content-v1\n${b.wasm.length}\n`)
    .update(b.wasm)
    .update(canonicalJson({ createdAt: b.createdAt, data: b.data, rego: b.rego ?? {} }))
    .digest("hex");
}

/** What a bundle's signature covers: the digest of its whole content, its version and its release. */
export function signedText(b: PolicyBundle, release: BundleRelease): string {
  return `px-policy-bundle-v2\n${canonicalJson({ version: b.version, digest: bundleDigest(b), release })}`;
}

/** The bundle's content alone: without its release and signature. */
export function unsignedBundle(b: PolicyBundle): PolicyBundle {
  const { signature: _s, release: _r, ...content } = b;
  return content;
}

export function signBundle(b: PolicyBundle, signer: Signer, release: BundleRelease): PolicyBundle {
  const content = unsignedBundle(b);
  return { ...content, release, signature: { keyId: signer.keyId, sig: signer.sign(signedText(content, release)) } };
}

/**
 * Checks a bundle's signature and that it is meant for this deployment, and returns its release; throws
 * BundleRefusedError naming the reason.
 */
export function verifyBundle(b: PolicyBundle, verifier: Verifier, deployment: string): BundleRelease {
  if (!b.signature || !b.release) throw new BundleRefusedError(`bundle ${b.version} is unsigned`);
  if (b.signature.keyId !== verifier.keyId) throw new BundleRefusedError(`bundle ${b.version} is signed by key ${b.signature.keyId}, not the policy service's key ${verifier.keyId}`);
  if (!verifier.verify(signedText(b, b.release), b.signature.sig)) throw new BundleRefusedError(`bundle ${b.version} does not match its signature (its content or release was changed after signing)`);
  if (b.release.deployment !== deployment) throw new BundleRefusedError(`bundle ${b.version} was released for deployment '${b.release.deployment}', not this one ('${deployment}')`);
  return b.release;
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
  return Buffer.from(JSON.stringify({ version: b.version, createdAt: b.createdAt, wasm: b.wasm.toString("base64"), data: b.data, rego: b.rego, release: b.release, signature: b.signature }));
}

export function parseBundle(buf: Buffer): PolicyBundle {
  const o = JSON.parse(buf.toString("utf8")) as { version?: unknown; createdAt?: unknown; wasm?: unknown; data?: unknown; rego?: unknown; release?: unknown; signature?: unknown };
  if (typeof o.version !== "string" || typeof o.wasm !== "string" || typeof o.data !== "object" || o.data === null) {
    throw new Error("policy bundle lacks version, wasm or data");
  }
  const data = o.data as PolicyData;
  if (typeof data.parties !== "object" || data.parties === null) throw new Error("policy bundle data has no parties document");
  const wasm = Buffer.from(o.wasm, "base64");
  const hash = o.version.slice(o.version.lastIndexOf("+") + 1);
  if (hash !== contentHash(wasm, data)) throw new Error(`policy bundle ${o.version} does not match its content hash`);
  const sig = o.signature as { keyId?: unknown; sig?: unknown } | undefined;
  const release = releaseOf(o.release);
  return {
    version: o.version,
    createdAt: typeof o.createdAt === "string" ? o.createdAt : "",
    wasm,
    data,
    ...(typeof o.rego === "object" && o.rego !== null ? { rego: o.rego as Record<string, string> } : {}),
    ...(release ? { release } : {}),
    ...(sig && typeof sig.keyId === "string" && typeof sig.sig === "string" ? { signature: { keyId: sig.keyId, sig: sig.sig } } : {}),
  };
}

function releaseOf(v: unknown): BundleRelease | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const r = v as { sequence?: unknown; deployment?: unknown; ledger?: { seq?: unknown; hash?: unknown } | null };
  if (!Number.isSafeInteger(r.sequence) || (r.sequence as number) < 1 || typeof r.deployment !== "string") throw new Error("policy bundle release lacks a positive sequence or a deployment");
  if (typeof r.ledger !== "object" || r.ledger === null || !Number.isSafeInteger(r.ledger.seq) || typeof r.ledger.hash !== "string") throw new Error("policy bundle release lacks its ledger entry");
  return { sequence: r.sequence as number, deployment: r.deployment, ledger: { seq: r.ledger.seq as number, hash: r.ledger.hash } };
}

/** Key of the current router policy on the compacted policy topic. */
export const ROUTER_POLICY_KEY = "router";
