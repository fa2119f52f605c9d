/**
 * Key → partition exactly as the Java client's default partitioner (murmur2 of the key bytes, made positive,
 * modulo the partition count), so a parcel's events land in the same partition whoever publishes them. Written
 * with 32-bit integer arithmetic: the kafkajs default computes the same hash through 64-bit emulation, which
 * showed up in the router's profile.
 */
import type { ICustomPartitioner, PartitionerArgs } from "kafkajs";

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length & 3) {
    case 3:
      h ^= data[length4 + 2]! << 16;
    // falls through
    case 2:
      h ^= data[length4 + 1]! << 8;
    // falls through
    case 1:
      h ^= data[length4]!;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export const partitionOfKey = (key: Buffer | string, partitions: number): number => (murmur2(typeof key === "string" ? Buffer.from(key) : key) & 0x7fffffff) % partitions;

/** A kafkajs partitioner: an explicit partition wins; then the key's murmur2; keyless records round-robin. */
export const keyPartitioner: ICustomPartitioner = () => {
  let counter = Math.floor(Math.random() * 0x7fffffff);
  return ({ partitionMetadata, message }: PartitionerArgs): number => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const n = partitionMetadata.length;
    if (message.key !== undefined && message.key !== null) return partitionOfKey(message.key, n);
    counter = (counter + 1) & 0x7fffffff;
    return partitionMetadata[counter % n]!.partitionId;
  };
};
