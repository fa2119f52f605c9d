/** The router's own errors, with their codes as one union. */
import { PxError } from "@parcel-exchange/shared";

export const ROUTER_ERROR_CODES = ["BATCH_ABORTED"] as const;
export type RouterErrorCode = (typeof ROUTER_ERROR_CODES)[number];

/**
 * A batch's transaction failed and was aborted (fenced, broker unavailable, timed out). Nothing of it is
 * visible to read_committed readers and nothing of it was counted; the batch is routed again from the
 * committed offset through a re-opened sink. Retriable, so the Kafka client retries instead of stopping.
 */
export class BatchAbortedError extends PxError<RouterErrorCode> {
  constructor(partition: string, cause: unknown) {
    super("BATCH_ABORTED", `the transaction of a batch from ${partition} failed and was aborted (${(cause as Error)?.message ?? String(cause)}); it is routed again from the committed offset`, { retriable: true, cause });
  }
}
