/** The records the router reads and writes, independent of any Kafka client. */

/** Record headers as the router builds and reads them (the shape every Kafka client accepts). */
export type RecordHeaders = { [key: string]: Buffer | string | (Buffer | string)[] | undefined };

/** One consumed raw record. Offsets and timestamps are decimal strings. */
export interface InRecord {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: RecordHeaders;
}

/** A consumed raw record with where it came from. */
export interface RawRecord extends InRecord {
  readonly topic: string;
  readonly partition: number;
}

/** One record to produce; the partition follows from the key (Java-compatible murmur2). */
export interface OutRecord {
  readonly key: Buffer | string | null;
  readonly value: Buffer;
  readonly headers: RecordHeaders;
}
