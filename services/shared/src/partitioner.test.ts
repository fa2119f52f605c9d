import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyPartitioner, murmur2, partitionOfKey } from "./partitioner.js";

// The kafkajs implementation (itself a port of the Java client's) as the reference.
const kafkajsMurmur2 = createRequire(import.meta.url)("kafkajs/src/producer/partitioners/default/murmur2.js") as (key: Buffer) => number;

describe("murmur2 partitioning", () => {
  it("hashes exactly like the kafkajs / Java default partitioner, for any key", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => murmur2(Buffer.from(bytes)) === kafkajsMurmur2(Buffer.from(bytes))), { numRuns: 2000 });
    for (const k of ["SF1001", "ZT2002", "", "a", "ab", "abc", "abcd", "王小明"]) expect(murmur2(Buffer.from(k))).toBe(kafkajsMurmur2(Buffer.from(k)));
  });

  it("keeps partitions in range and stable", () => {
    fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 500 }), (k, n) => {
      const p = partitionOfKey(k, n);
      return p >= 0 && p < n && p === partitionOfKey(Buffer.from(k), n);
    }));
  });

  it("lets an explicit partition win and spreads keyless records over the partitions", () => {
    const part = keyPartitioner();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
    expect(part({ topic: "t", partitionMetadata, message: { key: "SF1001", value: null, partition: 2 } })).toBe(2);
    expect(part({ topic: "t", partitionMetadata, message: { key: "SF1001", value: null } })).toBe(partitionOfKey("SF1001", 3));
    const seen = new Set(Array.from({ length: 6 }, () => part({ topic: "t", partitionMetadata, message: { value: null } })));
    expect(seen.size).toBe(3);
  });
});
