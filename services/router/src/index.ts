/** The router service: consumes the parties' ingress topics and delivers each party exactly what policy allows. */
export { Router, type RouterDeps } from "./router.js";
export { routerMetrics, type RouterMetrics } from "./metrics.js";
export { ActivePolicy, DEAD_LETTER_SHA256, DEAD_LETTER_TRUNCATED, RouterCore, deadLetter, type BatchResult, type CoreSettings, type QuotaView } from "./core.js";
export type { InRecord, OutRecord, RawRecord, RecordHeaders } from "./records.js";
export { QuotaTracker, quotaKey, utcDay } from "./quota.js";
export { createRouterKafka, type PartitionSink, type RouterKafka } from "./kafka-client/index.js";
