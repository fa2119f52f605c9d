/** The SDK's own errors, with their codes as one union (validation and dependency errors come from shared). */
import { PxError } from "@parcel-exchange/shared";

export const SDK_ERROR_CODES = ["PARTY_INVALID", "PARTY_MISMATCH", "INGRESS_MISSING", "PUBLISHER_CLOSED", "PUBLISHER_TRANSACTIONAL", "SUBSCRIBER_CLOSED", "SUBSCRIBER_BUSY", "DELIVERY_UNDECODABLE"] as const;
export type SdkErrorCode = (typeof SDK_ERROR_CODES)[number];

/**
 * A misuse of the SDK (a bad party id, a party other than the credentials', a party the exchange has not
 * provisioned, a closed or busy client) or a delivery it cannot decode. Not retriable.
 */
export class SdkError extends PxError<SdkErrorCode> {
  constructor(code: SdkErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, opts);
  }
}
