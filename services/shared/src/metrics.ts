/** prom-client registry and the /metrics endpoint. All metric names start with px_. */
import { createServer, type Server } from "node:http";
import { collectDefaultMetrics, Registry } from "prom-client";

export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: "px_process_" });
  return registry;
}

/** What /healthz answers: 200 when ok, 503 otherwise, with the detail as JSON. */
export type HealthCheck = () => { ok: boolean; detail: Record<string, unknown> };

/** Serves GET /metrics and /healthz on the port; port 0 picks a free one. Resolves to the server. */
export async function serveMetrics(registry: Registry, port: number, host = "127.0.0.1", health?: HealthCheck): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === "/metrics") {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500).end(String(err));
        });
    } else if (req.url === "/healthz") {
      const h = health?.() ?? { ok: true, detail: {} };
      res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ ok: h.ok, ...h.detail }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => ok());
  });
  return server;
}
