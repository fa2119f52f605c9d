/** The policy service: proposals, approvals, notice periods, signed bundles and the ledger, over HTTP. */
export * from "./api.js";
export * from "./errors.js";
export * from "./http-errors.js";
export * from "./start.js";
export * from "./service.js";
export * from "./change.js";
export * from "./impact.js";
export * from "./dryrun.js";
export * from "./history.js";
export { Users, hashKey, type User } from "./users.js";
