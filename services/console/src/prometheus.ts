/**
 * A Prometheus process of the machine's own (Debian's `prometheus`, PX_PROMETHEUS_BIN), for the demo's
 * `--serve` and the browser tests: it scrapes the given targets every second, optionally evaluating rule
 * files, with its data in a temporary directory that stop() removes. Production runs its own Prometheus and
 * gives the console its address (PX_PROMETHEUS_URL).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsoleError } from "./errors.js";

export interface LocalPrometheus {
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
}

export interface ScrapeTarget {
  readonly job: string;
  /** host:port serving /metrics. */
  readonly address: string;
}

export interface LocalPrometheusOptions {
  readonly ruleFiles?: readonly string[];
  readonly evaluationInterval?: string;
  /** The binary (default PX_PROMETHEUS_BIN or /usr/bin/prometheus). */
  readonly bin?: string;
  /** How long to wait for it to be ready (60 s). */
  readonly readyTimeoutMs?: number;
}

export const prometheusBin = (): string => process.env.PX_PROMETHEUS_BIN ?? "/usr/bin/prometheus";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startLocalPrometheus(targets: readonly ScrapeTarget[], o: LocalPrometheusOptions = {}): Promise<LocalPrometheus> {
  const bin = o.bin ?? prometheusBin();
  if (!existsSync(bin)) throw new ConsoleError("UNAVAILABLE", `no Prometheus at ${bin}: install Debian's prometheus package (apt-get install prometheus) or set PX_PROMETHEUS_BIN`);
  const dir = mkdtempSync(join(tmpdir(), "px-prometheus-"));
  const jobs = [...new Set(targets.map((t) => t.job))];
  // JSON is YAML: the configuration is written with JSON.stringify.
  const cfg = {
    global: { scrape_interval: "1s", evaluation_interval: o.evaluationInterval ?? "1s" },
    ...(o.ruleFiles?.length ? { rule_files: o.ruleFiles } : {}),
    scrape_configs: jobs.map((job) => ({ job_name: job, static_configs: [{ targets: targets.filter((t) => t.job === job).map((t) => t.address) }] })),
  };
  writeFileSync(join(dir, "prometheus.yml"), JSON.stringify(cfg, null, 2));
  const port = await freePort();
  const child: ChildProcess = spawn(bin, [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new ConsoleError("UNAVAILABLE", `prometheus exited with ${child.exitCode} (check its rule files and configuration): ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    }
    if (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new ConsoleError("UNAVAILABLE", `prometheus at ${url} was not ready within ${o.readyTimeoutMs ?? 60_000} ms`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, dir, stop };
}
