import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { credentialFile, ensureCredential, readCredential, removeCredentials } from "./credentials.js";

describe("credentials", () => {
  it("generates a password once, keeps it across runs, and stores it readable by the owner only", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "px-cred-")), "credentials");
    const a = ensureCredential(dir, "px.zto");
    const b = ensureCredential(dir, "px.zto");
    expect(b.password).toBe(a.password);
    expect(a.password.length).toBeGreaterThanOrEqual(32);
    expect(ensureCredential(dir, "px.jd").password).not.toBe(a.password);
    expect(statSync(credentialFile(dir, "px.zto")).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readCredential(dir, "px.zto")).toEqual(a);
    expect(removeCredentials(dir, "px.").sort()).toEqual(["px.jd", "px.zto"]);
    expect(readCredential(dir, "px.zto")).toBeUndefined();
  });
});
