import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { contentHash, parseBundle, serializeBundle, signBundle, verifyBundle, type BundleRelease, type PolicyBundle } from "./policy-bundle.js";
import { keyIdOf, verifierOf, type Signer } from "./signing.js";

function keys(): { signer: Signer; verifier: ReturnType<typeof verifierOf> } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { signer: { keyId: keyIdOf(publicKey), sign: (d) => sign(null, Buffer.from(d), privateKey).toString("base64") }, verifier: verifierOf(publicKey) };
}

const wasm = Buffer.from([0, 97, 115, 109, 1]);
const data = { parties: { jd: { kind: "marketplace" as const } }, contracts: {} };
const bundle: PolicyBundle = { version: `v1+${contentHash(wasm, data)}`, createdAt: "2026-01-01T00:00:00.000Z", wasm, data, rego: { "router/a.rego": "package a\n" } };
const release: BundleRelease = { sequence: 7, deployment: "px", ledger: { seq: 12, hash: "ab".repeat(32) } };

describe("signed bundles", () => {
  const { signer, verifier } = keys();
  const signed = signBundle(bundle, signer, release);

  it("verify with the release they were signed with, through the wire form", () => {
    const back = parseBundle(serializeBundle(signed));
    expect(verifyBundle(back, verifier, "px")).toEqual(release);
  });

  it("are refused when anything signed changes: content, rego, release, or the deployment", () => {
    const refused = (b: PolicyBundle, deployment = "px") => () => verifyBundle(b, verifier, deployment);
    expect(refused({ ...signed, data: { ...signed.data, contracts: { x: {} } } })).toThrow(/does not match its signature/);
    expect(refused({ ...signed, rego: { "router/a.rego": "package b\n" } })).toThrow(/does not match its signature/);
    expect(refused({ ...signed, wasm: Buffer.from([0, 97, 115, 109, 2]) })).toThrow(/does not match its signature/);
    expect(refused({ ...signed, release: { ...release, sequence: 8 } })).toThrow(/does not match its signature/);
    expect(refused({ ...signed, release: { ...release, ledger: { seq: 13, hash: release.ledger.hash } } })).toThrow(/does not match its signature/);
    expect(refused(signed, "other")).toThrow(/released for deployment 'px', not this one \('other'\)/);
  });

  it("are refused unsigned or signed by another key", () => {
    expect(() => verifyBundle(bundle, verifier, "px")).toThrow(/unsigned/);
    const other = keys();
    expect(() => verifyBundle(signBundle(bundle, other.signer, release), verifier, "px")).toThrow(/signed by key/);
  });

  it("re-signing replaces an earlier release", () => {
    const again = signBundle(signed, signer, { ...release, sequence: 9 });
    expect(verifyBundle(again, verifier, "px").sequence).toBe(9);
  });
});
