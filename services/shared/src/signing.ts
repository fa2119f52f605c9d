/**
 * Ed25519 signatures for policy bundles and ledger entries. The policy service holds the private key; routers
 * and anyone verifying the ledger hold only the public key. In development a key pair is generated once and
 * kept under the state directory; in production both files must be given.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "./config.js";
import { ConfigError } from "./errors.js";

export interface Signer {
  readonly keyId: string;
  sign(data: string | Buffer): string;
}

export interface Verifier {
  readonly keyId: string;
  verify(data: string | Buffer, signature: string): boolean;
}

export function keyIdOf(pub: KeyObject): string {
  return pub.export({ format: "der", type: "spki" }).subarray(-32).toString("base64url").slice(0, 16);
}

function ensureDevKeys(config: Config): void {
  const { privateKeyFile, publicKeyFile } = config.signing;
  // Only a fresh development machine gets a generated pair; an existing key file is never overwritten.
  if (existsSync(privateKeyFile) || existsSync(publicKeyFile)) return;
  if (config.env === "production") {
    throw new ConfigError("PX_SIGNING_KEY_FILE", `no key pair at ${privateKeyFile} / ${publicKeyFile}`, "generate one with `openssl genpkey -algorithm ed25519 -out key.pem && openssl pkey -in key.pem -pubout -out key.pub.pem` and set PX_SIGNING_KEY_FILE and PX_VERIFY_KEY_FILE");
  }
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  mkdirSync(dirname(privateKeyFile), { recursive: true });
  writeFileSync(privateKeyFile, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  writeFileSync(publicKeyFile, publicKey.export({ format: "pem", type: "spki" }));
}

export function loadSigner(config: Config): Signer {
  ensureDevKeys(config);
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(config.signing.privateKeyFile));
  } catch (err) {
    throw new ConfigError("PX_SIGNING_KEY_FILE", `cannot read an Ed25519 private key from ${config.signing.privateKeyFile} (${(err as Error).message})`, "point PX_SIGNING_KEY_FILE at a PEM (PKCS#8) Ed25519 private key");
  }
  const keyId = keyIdOf(createPublicKey(key));
  return { keyId, sign: (data) => sign(null, Buffer.from(data), key).toString("base64") };
}

export function loadVerifier(config: Config): Verifier {
  ensureDevKeys(config);
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(config.signing.publicKeyFile));
  } catch (err) {
    throw new ConfigError("PX_VERIFY_KEY_FILE", `cannot read an Ed25519 public key from ${config.signing.publicKeyFile} (${(err as Error).message})`, "point PX_VERIFY_KEY_FILE at the policy service's PEM (SPKI) public key");
  }
  return verifierOf(key);
}

export function verifierOf(key: KeyObject): Verifier {
  return {
    keyId: keyIdOf(key),
    verify(data, signature) {
      try {
        return verify(null, Buffer.from(data), key, Buffer.from(signature, "base64"));
      } catch {
        return false;
      }
    },
  };
}
