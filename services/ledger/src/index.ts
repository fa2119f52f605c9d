/** Tamper-evident ledger: hash-chained, Ed25519-signed entries on a Kafka topic, exportable to JSONL. */
export * from "./entry.js";
export * from "./chain.js";
export * from "./errors.js";
export * from "./export.js";
export * from "./store.js";
