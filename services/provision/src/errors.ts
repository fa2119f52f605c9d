/** Errors of provisioning (identities, ACLs, quotas, registry users). */
import { PxError } from "@parcel-exchange/shared";

export const PROVISION_ERROR_CODES = ["PARTY_INVALID", "NOT_ADMIN", "BROKER_REFUSED", "REGISTRY_REFUSED"] as const;
export type ProvisionErrorCode = (typeof PROVISION_ERROR_CODES)[number];

export class ProvisionError extends PxError<ProvisionErrorCode> {
  readonly problems: readonly string[];
  constructor(code: ProvisionErrorCode, message: string, problems: readonly string[] = [], opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(code, message, opts);
    this.problems = problems;
  }
}
