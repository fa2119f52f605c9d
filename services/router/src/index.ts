/** The router service: consumes the parties' ingress topics and delivers each party exactly what policy allows. */
export { Router, type RouterDeps } from "./router.js";
export { routerMetrics, type RouterMetrics } from "./metrics.js";
export { ActivePolicy, RouterCore, type BatchResult, type CoreSettings, type OutRecord, type QuotaView, type RawRecord } from "./core.js";
export { QuotaTracker, quotaKey, utcDay } from "./quota.js";
