/** The gateway's metrics (px_gateway_*), registered on the service's registry. */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export function gatewayMetrics(registry: Registry) {
  return {
    requests: new Counter({ name: "px_gateway_requests_total", help: "HTTP requests answered, by route and status", labelNames: ["route", "status"], registers: [registry] }),
    rejected: new Counter({ name: "px_gateway_rejected_total", help: "Requests refused, by error code", labelNames: ["code"], registers: [registry] }),
    published: new Counter({ name: "px_gateway_events_published_total", help: "Events published over HTTP, by party", labelNames: ["party"], registers: [registry] }),
    replayed: new Counter({ name: "px_gateway_idempotent_replays_total", help: "Requests answered from an earlier request with the same Idempotency-Key", registers: [registry] }),
    attempts: new Counter({ name: "px_gateway_webhook_attempts_total", help: "Webhook delivery attempts, by outcome (delivered, retry, disable)", labelNames: ["outcome"], registers: [registry] }),
    disabled: new Counter({ name: "px_gateway_webhook_endpoints_disabled_total", help: "Endpoints disabled (410, or failing for the whole retry schedule)", labelNames: ["why"], registers: [registry] }),
    undecodable: new Counter({ name: "px_gateway_undecodable_total", help: "Delivery records the gateway could not decode (skipped, logged with their offset)", registers: [registry] }),
    webhookLatency: new Histogram({
      name: "px_gateway_webhook_delivery_seconds",
      help: "Time from the router's delivery record to the receiver's 2xx",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
      registers: [registry],
    }),
    endpoints: new Gauge({ name: "px_gateway_webhook_endpoints", help: "Webhook endpoints the gateway is delivering to", registers: [registry] }),
    streams: new Gauge({ name: "px_gateway_stream_clients", help: "Open live streams (Server-Sent Events)", registers: [registry] }),
  };
}

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;
