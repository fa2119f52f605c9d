/** Router entry point: validates configuration, serves /metrics, routes until SIGTERM/SIGINT. */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { ConfigError, createKafka, createLogger, createMetricsRegistry, loadConfig, serveMetrics, verifyKafkaAccess, type Config } from "@parcel-exchange/shared";
import { routerMetrics } from "./metrics.js";
import { Router } from "./router.js";

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`router: invalid configuration: ${err.message}`);
      process.exit(78);
    }
    throw err;
  }
  const instanceId = `router-${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = createLogger("router", config.logLevel).child({ instance: instanceId });
  const registry = createMetricsRegistry("router");
  const metrics = routerMetrics(registry);
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    await redis.connect();
  } catch (err) {
    log.fatal({ err, setting: "REDIS_URL" }, `cannot reach Redis at REDIS_URL=${config.redisUrl}; start it (npm run stack -- up) or fix REDIS_URL`);
    process.exit(1);
  }
  try {
    await verifyKafkaAccess(config, log);
  } catch (err) {
    // A wrong password or an untrusted certificate: stop at once, naming the setting (never a retry loop).
    log.fatal({ err: { message: (err as Error).message }, setting: (err as { setting?: string }).setting }, (err as Error).message);
    process.exit(err instanceof ConfigError ? 78 : 1);
  }
  const router = new Router({ config, kafka: createKafka(config, log), redis, log, metrics, instanceId, topicRefreshMs: config.router.topicRefreshMs });
  // /healthz says whether this router routes (503 until it does, and after its consumer stopped for good).
  const server = config.metricsPort > 0 ? await serveMetrics(registry, config.metricsPort, "127.0.0.1", () => router.health()) : undefined;
  router.onFatal((err) => {
    // Alive but routing nothing helps no one: exit non-zero so that a supervisor restarts the router.
    log.fatal({ err: { message: err.message, name: err.name } }, "router cannot route any more (its consumer stopped for good); exiting so that it is restarted");
    process.exit(1);
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    await router.stop().catch((err: unknown) => log.error({ err }, "error while stopping"));
    redis.disconnect();
    server?.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  router.onPolicyApplied((version) => {
    // A line on stdout per applied version lets supervisors (and tests) follow reloads.
    process.stdout.write(`${JSON.stringify({ event: "policy_applied", version })}\n`);
  });
  await router.start();
  process.stdout.write(`${JSON.stringify({ event: "router_started", instance: instanceId, metricsPort: server ? (server.address() as { port: number }).port : 0 })}\n`);
}

main().catch((err: unknown) => {
  console.error("router: fatal", err);
  process.exit(1);
});
