/** Starts the console: used by main.ts, the demo and the browser tests. */
import type { FastifyInstance } from "fastify";
import { createLogger, createMetricsRegistry, type Config, type Logger } from "@parcel-exchange/shared";
import { buildConsole } from "./app.js";
import { consoleMetrics } from "./metrics.js";

export interface RunningConsole {
  readonly app: FastifyInstance;
  readonly url: string;
  stop(): Promise<void>;
}

export interface StartConsoleOptions {
  readonly log?: Logger;
  /** The policy service's base URL (default PX_POLICY_URL). */
  readonly policyUrl?: string;
  readonly port?: number;
  readonly host?: string;
}

export async function startConsole(config: Config, o: StartConsoleOptions = {}): Promise<RunningConsole> {
  const log = o.log ?? createLogger("console", config.logLevel);
  const metricsRegistry = createMetricsRegistry("console");
  const app = await buildConsole({ config, log, metrics: consoleMetrics(metricsRegistry), metricsRegistry, ...(o.policyUrl ? { policyUrl: o.policyUrl } : {}) });
  const url = await app.listen({ port: o.port ?? config.console.port, host: o.host ?? config.console.host });
  log.info({ event: "console_started", url, prometheus: config.console.prometheusUrl ?? null }, "console listening");
  let stopping: Promise<void> | undefined;
  return { app, url, stop: () => (stopping ??= app.close()) };
}
