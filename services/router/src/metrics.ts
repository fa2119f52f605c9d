/** The router's prom-client metrics (all px_*). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export function routerMetrics(registry: Registry) {
  const reg = [registry];
  return {
    consumed: new Counter({ name: "px_router_consumed_total", help: "Raw records consumed", labelNames: ["topic"], registers: reg }),
    delivered: new Counter({ name: "px_router_delivered_total", help: "Records delivered, by recipient party", labelNames: ["party"], registers: reg }),
    fieldActions: new Counter({ name: "px_router_field_actions_total", help: "Field actions applied to delivered records", labelNames: ["party", "class", "action"], registers: reg }),
    rejected: new Counter({ name: "px_rejected_total", help: "Raw records dead-lettered, by reason", labelNames: ["reason"], registers: reg }),
    cacheLookups: new Counter({ name: "px_router_decision_cache_total", help: "Decision cache lookups", labelNames: ["result"], registers: reg }),
    cacheHitRatio: new Gauge({ name: "px_router_decision_cache_hit_ratio", help: "Decision cache hit ratio since the policy version took effect", registers: reg }),
    policyEval: new Histogram({ name: "px_router_policy_eval_seconds", help: "OPA evaluation latency per decision", buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05], registers: reg }),
    endToEnd: new Histogram({ name: "px_router_end_to_end_seconds", help: "From raw record timestamp to committed delivery", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: reg }),
    batch: new Histogram({ name: "px_router_batch_seconds", help: "Time to route and commit one batch", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: reg }),
    policyVersion: new Gauge({ name: "px_router_policy_info", help: "Policy version in force (value 1)", labelNames: ["version"], registers: reg }),
    policySequence: new Gauge({ name: "px_router_policy_sequence", help: "Release sequence of the policy bundle in force (compare with px_policy_release_sequence)", registers: reg }),
    policyReloads: new Counter({ name: "px_router_policy_reloads_total", help: "Policy bundles applied or refused", labelNames: ["result"], registers: reg }),
    transactions: new Counter({ name: "px_router_transactions_total", help: "Batch transactions, by outcome (committed / aborted)", labelNames: ["result"], registers: reg }),
    routing: new Gauge({ name: "px_router_routing", help: "1 while the router consumes and routes; 0 before it can, or after its consumer stopped for good", registers: reg }),
    quotaUsage: new Gauge({ name: "px_router_quota_usage_ratio", help: "Share of today's PII release quota used", labelNames: ["party", "class"], registers: reg }),
    quotaLimit: new Gauge({ name: "px_router_quota_limit", help: "Today's PII release quota (fields per UTC day) of a party and data class, as its contract sets it", labelNames: ["party", "class"], registers: reg }),
    consumerLag: new Gauge({ name: "px_router_consumer_lag", help: "Ingress records not yet routed by the router group: high watermark minus committed offset (minus the low watermark when none is committed)", labelNames: ["topic", "partition"], registers: reg }),
  };
}

export type RouterMetrics = ReturnType<typeof routerMetrics>;
