/**
 * What the router needs from a Kafka client, and nothing more. router.ts talks only to this; kafkajs.ts and
 * platformatic.ts implement it, and index.ts picks one from the configuration (PX_KAFKA_CLIENT).
 */
import type { TopicSpec } from "@parcel-exchange/shared";

import type { InRecord, OutRecord } from "../records.js";

export type { InRecord, OutRecord, RecordHeaders } from "../records.js";

export interface TopicMessages {
  readonly topic: string;
  readonly messages: readonly OutRecord[];
}

/** Consecutive records of one input partition, in offset order. */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly InRecord[];
  /** True once this consumer no longer owns the partition (or the batch predates the current assignment). */
  isStale(): boolean;
}

/** One open transaction of an input partition's sink. */
export interface PartitionTransaction {
  /** Adds records to the transaction (the implementation splits them into calls the broker accepts). */
  send(topicMessages: readonly TopicMessages[]): Promise<void>;
  /** Puts the group's offset for the input partition (`nextOffset`, i.e. last handled + 1) in the transaction and commits it. */
  commit(nextOffset: string): Promise<void>;
  abort(): Promise<void>;
}

/**
 * The transactional producer of one input partition. Opening it initialises the partition's transactional id,
 * which fences any earlier holder and aborts that holder's open transaction.
 */
export interface PartitionSink {
  begin(): Promise<PartitionTransaction>;
  close(): Promise<void>;
}

/** Called for each batch; resolving marks the batch handled, rejecting leaves it to be delivered again. */
export type BatchHandler = (batch: PartitionBatch) => Promise<void>;

export interface RouterKafka {
  readonly name: "kafkajs" | "platformatic";
  /** Connects what the control plane needs (admin, the plain producer). */
  connect(): Promise<void>;
  /** Creates the topics that are missing (the router's own; provisioning creates the others) and waits until all are usable. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  /** The names of the topics this client may see. */
  listTopics(): Promise<string[]>;
  /** Non-transactional, idempotent send (acks all) of small keyed string records. */
  sendPlain(topic: string, messages: readonly { key: string; value: string }[]): Promise<void>;
  /** Opens (and fences) the transactional sink of an input partition; id `${groupId}.${topic}.${partition}`. */
  openSink(topic: string, partition: number): Promise<PartitionSink>;
  /** The group's committed offset of a partition, -1 when none. */
  committedOffset(topic: string, partition: number): Promise<bigint>;
  /** `fn` runs whenever this member's assignment may have changed; every partition must be re-fenced before its next batch. */
  onAssignmentChange(fn: () => void): void;
  /** Joins the group, subscribes from the beginning (read_committed) and hands over per-partition batches until close(). */
  consume(topics: readonly string[], handler: BatchHandler): Promise<void>;
  /**
   * After consume(): consumes exactly `topics` from now on (the current ones and new ones, whose partitions are
   * read from the beginning unless the group has offsets for them), with the same handler. The member re-joins
   * the group, so onAssignmentChange fires and every partition is re-fenced before its next batch; batches in
   * flight finish first. Not to be called concurrently with itself or stopConsuming().
   */
  resubscribe(topics: readonly string[]): Promise<void>;
  /** Leaves the group; no handler runs after it resolves. */
  stopConsuming(): Promise<void>;
  /** `fn` runs when consuming has stopped for good on an error the client will not recover from by itself. */
  onFatal(fn: (err: Error) => void): void;
  /** Closes the control plane (after stopConsuming; sinks are closed by their owner). */
  close(): Promise<void>;
}
