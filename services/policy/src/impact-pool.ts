/**
 * Runs the impact computation and dry run of a proposed policy in a worker thread (impact-worker.ts), so that
 * Rego someone submitted never runs on the service's event loop: the API and /healthz keep answering while it
 * runs. Each task has a hard wall-clock limit (PX_POLICY_IMPACT_TIMEOUT_MS); at the limit the worker is
 * terminated and the change rejected.
 *
 * A worker runs one task at a time; idle workers are kept for the next task (loading the modules takes a
 * moment) and do not keep the process alive.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { PolicyBundle } from "@parcel-exchange/shared";
import type { DryRunReport, Impact } from "./api.js";
import type { Sampled } from "./dryrun.js";
import type { DecisionMatrix } from "./matrix.js";
import { ChangeRejectedError, ImpactWorkerError } from "./errors.js";

export interface ImpactTask {
  readonly kind: "impact";
  readonly id: number;
  readonly base: PolicyBundle;
  readonly proposed: PolicyBundle;
  readonly sample: readonly Sampled[];
}

/** Who receives what under one version (matrix.ts), for everyone or scoped to one party. */
export interface MatrixTask {
  readonly kind: "matrix";
  readonly id: number;
  readonly bundle: PolicyBundle;
  readonly party?: string;
}

export type WorkerTask = ImpactTask | MatrixTask;

export interface ImpactResult {
  readonly impact: Impact;
  readonly dryRun: DryRunReport;
}

/** What a worker posts: that it has loaded, or the answer to a task. */
export type WorkerMessage =
  | { readonly ready: true }
  | ({ readonly id: number; readonly ok: true; readonly kind: "impact" } & ImpactResult)
  | { readonly id: number; readonly ok: true; readonly kind: "matrix"; readonly matrix: DecisionMatrix }
  | { readonly id: number; readonly ok: false; readonly error: { readonly name: string; readonly code?: string | undefined; readonly message: string } };

type Answer = Extract<WorkerMessage, { ok: true }>;

const WORKER = new URL("./impact-worker.ts", import.meta.url);
/** The worker is TypeScript like the rest of the service: it loads through tsx, under tsx and under vitest alike. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const MAX_IDLE = 2;
/** Heap of one worker: the impact of a change over the attribute space needs far less. */
const MAX_HEAP_MB = 512;

interface Slot {
  readonly worker: Worker;
  readonly ready: Promise<void>;
}

export class ImpactWorkers {
  private readonly idle: Slot[] = [];
  private readonly all = new Set<Worker>();
  private nextId = 1;
  private closed = false;

  /** Starts a worker ahead of the first task. */
  warm(): void {
    if (this.idle.length === 0 && !this.closed) this.idle.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER, { execArgv: ["--conditions=px-source", "--import", TSX], resourceLimits: { maxOldGenerationSizeMb: MAX_HEAP_MB } });
    worker.unref();
    this.all.add(worker);
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if ("ready" in m) {
          worker.off("error", onError);
          worker.off("exit", onExit);
          resolve();
        }
      };
      const onError = (err: Error) => reject(new ImpactWorkerError(`the impact worker did not start (${err.message})`));
      const onExit = (code: number) => reject(new ImpactWorkerError(`the impact worker exited with ${code} before it started`));
      worker.once("message", onMessage);
      worker.once("error", onError);
      worker.once("exit", onExit);
    });
    ready.catch(() => undefined);
    worker.once("exit", () => {
      this.all.delete(worker);
      const i = this.idle.findIndex((s) => s.worker === worker);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return { worker, ready };
  }

  /**
   * The impact and dry run of `proposed` against `base` on `sample`. Throws ChangeRejectedError when it takes
   * longer than `timeoutMs` (the worker is terminated), runs out of memory, or the proposed policy fails.
   */
  async run(task: Omit<ImpactTask, "id" | "kind">, timeoutMs: number): Promise<ImpactResult> {
    const m = await this.post({ ...task, kind: "impact", base: portable(task.base), proposed: portable(task.proposed) }, timeoutMs, "computing the impact and dry run of the proposed policy");
    if (m.kind !== "impact") throw new ImpactWorkerError(`the impact worker answered a ${m.kind} task`);
    return { impact: m.impact, dryRun: m.dryRun };
  }

  /** Who receives what under `bundle` (for `party` only, when given); the same limits as run(). */
  async matrix(bundle: PolicyBundle, party: string | undefined, timeoutMs: number): Promise<DecisionMatrix> {
    const m = await this.post({ kind: "matrix", bundle: portable(bundle), ...(party !== undefined ? { party } : {}) }, timeoutMs, `computing who receives what under ${bundle.version}`);
    if (m.kind !== "matrix") throw new ImpactWorkerError(`the impact worker answered a ${m.kind} task`);
    return m.matrix;
  }

  private async post(task: Omit<ImpactTask, "id"> | Omit<MatrixTask, "id">, timeoutMs: number, what: string): Promise<Answer> {
    if (this.closed) throw new ImpactWorkerError("the impact workers are closed");
    const slot = this.idle.pop() ?? this.spawn();
    await slot.ready;
    const { worker } = slot;
    const id = this.nextId++;
    worker.ref();
    /** Whether the worker is finished with: terminated at the limit, or failed. */
    let spent = false;
    try {
      return await new Promise<Answer>((resolve, reject) => {
        const finish = (): void => {
          clearTimeout(timer);
          worker.off("message", onMessage);
          worker.off("error", onError);
          worker.off("exit", onExit);
        };
        const timer = setTimeout(() => {
          finish();
          spent = true;
          void worker.terminate();
          reject(new ChangeRejectedError(`${what} took longer than ${timeoutMs} ms (PX_POLICY_IMPACT_TIMEOUT_MS) and was stopped`, { timeoutMs }));
        }, timeoutMs);
        const onMessage = (m: WorkerMessage): void => {
          if ("ready" in m || m.id !== id) return;
          finish();
          if (m.ok) resolve(m);
          else if (m.error.code === "POLICY_FAILED") reject(new ChangeRejectedError("the proposed policy fails when evaluated", { error: m.error.message }));
          else reject(new ImpactWorkerError(`the impact computation failed: ${m.error.name}: ${m.error.message}`));
        };
        const onError = (err: Error & { code?: string }): void => {
          finish();
          spent = true;
          if (err.code === "ERR_WORKER_OUT_OF_MEMORY") reject(new ChangeRejectedError(`${what} needed more than ${MAX_HEAP_MB} MB and was stopped`, {}));
          else reject(new ImpactWorkerError(`the impact worker failed (${err.message})`));
        };
        const onExit = (code: number): void => {
          finish();
          spent = true;
          reject(new ImpactWorkerError(`the impact worker exited with ${code}`));
        };
        worker.on("message", onMessage);
        worker.once("error", onError);
        worker.once("exit", onExit);
        worker.postMessage({ ...task, id } satisfies WorkerTask);
      });
    } finally {
      if (!spent && !this.closed && this.idle.length < MAX_IDLE) {
        worker.unref();
        this.idle.push(slot);
      } else {
        void worker.terminate();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.all].map((w) => w.terminate()));
    this.idle.length = 0;
  }
}

/** The bundle with its Wasm in a buffer of its own (a Buffer may share a larger one, which would be copied whole). */
function portable(b: PolicyBundle): PolicyBundle {
  return { ...b, wasm: Buffer.from(b.wasm) };
}
