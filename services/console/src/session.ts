/**
 * The signed-in user, kept in the browser as one cookie: the user's API key and identity, encrypted and
 * authenticated with AES-256-GCM under a key derived from PX_CONSOLE_SESSION_KEY, with its expiry inside. The
 * console keeps no session state of its own, so any instance (or a restarted one) reads the same cookie; a
 * cookie that was altered, made under another key, or expired is no session at all.
 *
 * Forms carry a CSRF token derived from the session's random nonce with HMAC-SHA-256, so a page of another
 * site cannot submit the user's forms even where SameSite cookies are not enforced.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import type { Role } from "@parcel-exchange/policy-api";

export interface Session {
  /** The user's API key to the policy service: every action is the user's own call. */
  readonly key: string;
  readonly id: string;
  readonly role: Role;
  readonly party?: string;
  /** Expiry, ms since the epoch. */
  readonly exp: number;
  /** Random, per sign-in; the CSRF token is derived from it. */
  readonly nonce: string;
}

export const SESSION_COOKIE = "px_console";
const VERSION = 1;

export class SessionSealer {
  private readonly encKey: Buffer;
  private readonly csrfKey: Buffer;

  constructor(secret: string, private readonly now: () => number = Date.now) {
    const ikm = Buffer.from(secret, "utf8");
    this.encKey = Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), "px-console-session-v1/enc", 32));
    this.csrfKey = Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), "px-console-session-v1/csrf", 32));
  }

  /** A new session for a user who just signed in. */
  create(who: Omit<Session, "exp" | "nonce">, ttlMs: number): Session {
    return { ...who, exp: this.now() + ttlMs, nonce: randomBytes(16).toString("base64url") };
  }

  /** The cookie value: version byte, 12-byte IV, ciphertext, 16-byte tag, base64url. */
  seal(s: Session): string {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.encKey, iv);
    c.setAAD(Buffer.from([VERSION]));
    const body = Buffer.concat([c.update(JSON.stringify(s), "utf8"), c.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, body, c.getAuthTag()]).toString("base64url");
  }

  /** The session in a cookie value, or undefined when it does not decrypt, is malformed or has expired. */
  open(value: string | undefined): Session | undefined {
    if (value === undefined || value.length > 8192) return undefined;
    const buf = Buffer.from(value, "base64url");
    if (buf.length < 1 + 12 + 16 + 2 || buf[0] !== VERSION) return undefined;
    try {
      const d = createDecipheriv("aes-256-gcm", this.encKey, buf.subarray(1, 13));
      d.setAAD(Buffer.from([VERSION]));
      d.setAuthTag(buf.subarray(buf.length - 16));
      const s = JSON.parse(Buffer.concat([d.update(buf.subarray(13, buf.length - 16)), d.final()]).toString("utf8")) as Session;
      if (typeof s.key !== "string" || typeof s.id !== "string" || typeof s.role !== "string" || typeof s.exp !== "number" || typeof s.nonce !== "string") return undefined;
      return s.exp > this.now() ? s : undefined;
    } catch {
      return undefined;
    }
  }

  csrfToken(s: Session): string {
    return createHmac("sha256", this.csrfKey).update(s.nonce).digest("base64url");
  }

  csrfValid(s: Session, token: unknown): boolean {
    if (typeof token !== "string") return false;
    const want = Buffer.from(this.csrfToken(s));
    const got = Buffer.from(token);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

/** The Set-Cookie header value. */
export function sessionCookie(value: string, o: { readonly maxAgeMs: number; readonly secure: boolean }): string {
  return [`${SESSION_COOKIE}=${value}`, "Path=/", "HttpOnly", "SameSite=Strict", `Max-Age=${Math.max(0, Math.floor(o.maxAgeMs / 1000))}`, ...(o.secure ? ["Secure"] : [])].join("; ");
}

/** The value of one cookie of a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
