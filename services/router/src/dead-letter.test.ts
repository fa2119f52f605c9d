import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RejectedRecordError } from "@parcel-exchange/shared";
import { DEAD_LETTER_SHA256, DEAD_LETTER_TRUNCATED, deadLetter } from "./core.js";
import type { OutRecord, RawRecord } from "./records.js";

/** The test's own count of what the broker's record size limit counts: key, value, header names and values. */
function size(r: OutRecord): number {
  const b = (v: unknown): number => (v === undefined || v === null ? 0 : typeof v === "string" ? Buffer.byteLength(v) : (v as Buffer).length);
  return b(r.key) + r.value.length + Object.entries(r.headers).reduce((n, [k, v]) => n + Buffer.byteLength(k) + b(v), 0);
}

const err = new RejectedRecordError("oversized", "record too large");
const raw = (value: Buffer, headers: RawRecord["headers"] = {}): RawRecord =>
  ({ topic: "px.raw.zto.tracking", partition: 2, offset: "41", key: Buffer.from("ZT2002"), value, headers, timestamp: "0" }) as RawRecord;

describe("dead letters always fit", () => {
  const MAX = 10_000;
  const overhead = size(deadLetter(raw(Buffer.alloc(0)), err, "v1", MAX));

  it("keeps a record whole when its copy is exactly the limit", () => {
    const value = Buffer.alloc(MAX - overhead, 7);
    const dl = deadLetter(raw(value), err, "v1", MAX);
    expect(size(dl)).toBe(MAX);
    expect(dl.value.equals(value)).toBe(true);
    expect(dl.headers[DEAD_LETTER_TRUNCATED]).toBeUndefined();
  });

  it("one byte more: cuts the value to fit, says how long it was, its digest, and where the whole record is", () => {
    const value = Buffer.alloc(MAX - overhead + 1);
    for (let i = 0; i < value.length; i++) value[i] = i % 251;
    const dl = deadLetter(raw(value, { "px-source": "zto" }), err, "v1", MAX);
    expect(size(dl)).toBeLessThanOrEqual(MAX);
    expect(dl.headers[DEAD_LETTER_TRUNCATED]).toBe(String(value.length));
    expect(dl.headers[DEAD_LETTER_SHA256]).toBe(createHash("sha256").update(value).digest("hex"));
    expect(dl.headers["px-origin"]).toBe("px.raw.zto.tracking/2/41");
    expect(dl.headers["px-reject-reason"]).toBe("oversized");
    expect(value.subarray(0, dl.value.length).equals(dl.value)).toBe(true);
    expect(dl.value.length).toBeGreaterThan(MAX / 2);
  });

  it("a record just under the broker's 2 MiB limit becomes a dead letter under the default 1,000,000 bytes", () => {
    const dl = deadLetter(raw(Buffer.alloc(2 * 1024 * 1024 - 200), { big: Buffer.alloc(50_000) }), err, "v1");
    expect(size(dl)).toBeLessThanOrEqual(1_000_000);
    expect(dl.headers.big).toBeUndefined();
  });
});
