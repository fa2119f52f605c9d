/**
 * Starts a gateway: the requests log, the HTTP API, the webhook progress and directory. Used by main.ts, the
 * demo and the tests (which start it in-process or as a child process).
 */
import type { FastifyInstance } from "fastify";
import { Users } from "@parcel-exchange/policy";
import { createKafka, createLogger, createMetricsRegistry, createRegistryClient, topics, type Config, type Logger } from "@parcel-exchange/shared";
import { buildApp } from "./app.js";
import { HttpIngest } from "./ingest.js";
import { gatewayMetrics, type GatewayMetrics } from "./metrics.js";
import { WebhookDirectory } from "./webhooks/directory.js";
import { WebhookProgress } from "./webhooks/progress.js";

export interface RunningGateway {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly metrics: GatewayMetrics;
  readonly webhooks: WebhookDirectory;
  stop(): Promise<void>;
}

export interface StartGatewayOptions {
  readonly users?: Users;
  readonly log?: Logger;
  /** Names the gateway's transactional ids; unique per running instance (default PX_GATEWAY_INSTANCE_ID). */
  readonly instanceId?: string;
  readonly host?: string;
}

export async function startGateway(config: Config, o: StartGatewayOptions = {}): Promise<RunningGateway> {
  const log = o.log ?? createLogger("gateway", config.logLevel);
  const kafka = createKafka(config, log);
  const registry = createRegistryClient(config);
  const metricsRegistry = createMetricsRegistry("gateway");
  const metrics = gatewayMetrics(metricsRegistry);
  const users = o.users ?? Users.fromFile(config.policyService.usersFile);
  const instanceId = o.instanceId ?? config.gateway.instanceId;

  const ingest = await HttpIngest.open({ kafka, config, log, instanceId });
  const progress = await WebhookProgress.open(kafka, config, topics(config.topicPrefix).gatewayWebhookState, log);
  const webhooks = new WebhookDirectory(config, { kafka, config, registry, progress, metrics, log }, metrics, log);
  await webhooks.start();
  const app = await buildApp({
    config,
    users,
    ingest,
    kafka,
    registry,
    metrics,
    metricsRegistry,
    log,
    health: () => {
      const w = webhooks.health();
      return { ok: w.ok, detail: { webhooks: w } };
    },
  });
  const address = await app.listen({ port: config.gateway.port, host: o.host ?? config.gateway.host });
  log.info({ event: "gateway_started", url: address }, "gateway listening");
  return {
    app,
    url: address,
    metrics,
    webhooks,
    stop: once(async () => {
      await app.close();
      await webhooks.close();
      await progress.close();
      await ingest.close();
    }),
  };
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}
