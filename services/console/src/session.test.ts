import { createCipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cookieValue, sessionCookie, SessionSealer } from "./session.js";

const SECRET = "a-test-console-session-secret-of-enough-length";
const who = { key: "px-dev-key-taobao", id: "party:taobao", role: "party" as const, party: "taobao" };

describe("session cookie", () => {
  it("opens what it sealed, and the key is not readable in the cookie", () => {
    const s = new SessionSealer(SECRET);
    const session = s.create(who, 60_000);
    const cookie = s.seal(session);
    expect(s.open(cookie)).toEqual(session);
    expect(Buffer.from(cookie, "base64url").toString("latin1")).not.toContain("px-dev-key");
  });

  it("refuses a cookie with one bit flipped, one sealed under another secret, garbage, and an expired one", () => {
    let t = 1_000_000;
    const s = new SessionSealer(SECRET, () => t);
    const cookie = s.seal(s.create(who, 60_000));
    const buf = Buffer.from(cookie, "base64url");
    for (const i of [1, 13, 20, buf.length - 1]) {
      const b = Buffer.from(buf);
      b[i] = b[i]! ^ 1;
      expect(s.open(b.toString("base64url"))).toBeUndefined();
    }
    expect(new SessionSealer(`${SECRET}-other`, () => t).open(cookie)).toBeUndefined();
    expect(s.open("not-a-cookie")).toBeUndefined();
    expect(s.open(undefined)).toBeUndefined();
    t += 60_001;
    expect(s.open(cookie)).toBeUndefined();
  });

  it("refuses a well-encrypted cookie under a key that was not derived from the secret (raw secret bytes)", () => {
    // Sealed independently with node:crypto under the secret's first 32 bytes: the sealer's HKDF-derived key differs.
    const s = new SessionSealer(SECRET);
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", Buffer.from(SECRET).subarray(0, 32), iv);
    c.setAAD(Buffer.from([1]));
    const body = Buffer.concat([c.update(JSON.stringify({ ...who, exp: Date.now() + 60_000, nonce: "n" })), c.final()]);
    expect(s.open(Buffer.concat([Buffer.from([1]), iv, body, c.getAuthTag()]).toString("base64url"))).toBeUndefined();
  });

  it("accepts only the CSRF token of the same session", () => {
    const s = new SessionSealer(SECRET);
    const a = s.create(who, 60_000);
    const b = s.create(who, 60_000);
    expect(s.csrfValid(a, s.csrfToken(a))).toBe(true);
    expect(s.csrfValid(a, s.csrfToken(b))).toBe(false);
    expect(s.csrfValid(a, undefined)).toBe(false);
    expect(s.csrfValid(a, "")).toBe(false);
  });

  it("sets an HttpOnly, SameSite=Strict cookie, Secure when asked, and reads it back from a Cookie header", () => {
    expect(sessionCookie("v", { maxAgeMs: 3_600_000, secure: true })).toBe("px_console=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure");
    expect(sessionCookie("v", { maxAgeMs: 0, secure: false })).toBe("px_console=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    expect(cookieValue("a=1; px_console=abc; b=2", "px_console")).toBe("abc");
    expect(cookieValue("a=1", "px_console")).toBeUndefined();
  });
});
