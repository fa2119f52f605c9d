/** The SDK's version is tied to the event schemas it was made for, and the changelog says what changed. */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SCHEMA_DIR } from "@parcel-exchange/shared";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string; pxSchemas: { sha256: string } };
const changelog = readFileSync(new URL("../../../CHANGELOG.md", import.meta.url), "utf8");

describe("versions", () => {
  it("records the fingerprint of the schemas this SDK version was made for", () => {
    const h = createHash("sha256");
    for (const f of readdirSync(SCHEMA_DIR).filter((n) => n.endsWith(".avsc")).sort()) h.update(`${f}\n`).update(readFileSync(join(SCHEMA_DIR, f)));
    // A failure here means the schemas changed: bump services/sdk/package.json's version, put this value in its
    // pxSchemas.sha256, and say in CHANGELOG.md what changed for parties.
    expect(h.digest("hex")).toBe(pkg.pxSchemas.sha256);
  });

  it("has a changelog entry for the SDK's version", () => {
    expect(changelog).toMatch(new RegExp(`^## ${pkg.version.replace(/\./g, "\\.")} `, "m"));
  });
});
