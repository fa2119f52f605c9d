/** The demo's traffic, contract changes and independent checks, also used by the live-change test. */
export * from "./contract-changes.js";
export * from "./traffic.js";
export * from "./verify.js";
export * from "./oracle.js";
export { produceOnce } from "./isolation.js";
