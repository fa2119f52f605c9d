/**
 * The worker thread of impact-pool.ts: loads the policy in force and the proposed one (Wasm), computes the
 * exact impact (impact.ts) and the dry run (dryrun.ts) of one task at a time, and answers with them. It runs
 * Rego someone submitted, so it runs off the service's event loop; the pool terminates it at its limit.
 */
import { parentPort } from "node:worker_threads";
import type { PolicyBundle } from "@parcel-exchange/shared";
import { PolicyEngine } from "@parcel-exchange/decision";
import { dryRun } from "./dryrun.js";
import { compareEngines } from "./impact.js";
import type { WorkerMessage, WorkerTask } from "./impact-pool.js";
import { decisionMatrix } from "./matrix.js";

/** Longest a single decision may take (as when the engines ran in the service). */
const DECISION_TIMEOUT_MS = 1000;
/** Engines kept loaded: the policy in force is the base of every evaluation until it changes. */
const KEEP_ENGINES = 4;

const engines = new Map<string, PolicyEngine>();

async function engine(b: PolicyBundle): Promise<PolicyEngine> {
  let e = engines.get(b.version);
  if (e) {
    engines.delete(b.version);
  } else {
    // A structured clone turns the Buffer into a Uint8Array.
    const wasm = Buffer.from(b.wasm.buffer, b.wasm.byteOffset, b.wasm.byteLength);
    e = await PolicyEngine.load({ ...b, wasm }, DECISION_TIMEOUT_MS);
  }
  engines.set(b.version, e);
  while (engines.size > KEEP_ENGINES) engines.delete(engines.keys().next().value!);
  return e;
}

const port = parentPort;
if (!port) throw new Error("impact-worker.ts runs only as a worker thread (impact-pool.ts starts it)");

port.on("message", (task: WorkerTask) => {
  void (async (): Promise<WorkerMessage> => {
    try {
      if (task.kind === "matrix") return { id: task.id, ok: true, kind: "matrix", matrix: decisionMatrix(await engine(task.bundle), task.party) };
      const cur = await engine(task.base);
      const next = await engine(task.proposed);
      return { id: task.id, ok: true, kind: "impact", impact: compareEngines(cur, next), dryRun: dryRun(cur, next, task.sample) };
    } catch (err) {
      const e = err as { name?: unknown; code?: unknown; message?: unknown };
      return { id: task.id, ok: false, error: { name: String(e.name ?? "Error"), code: typeof e.code === "string" ? e.code : undefined, message: String(e.message ?? err) } };
    }
  })().then((m) => port.postMessage(m));
});

port.postMessage({ ready: true } satisfies WorkerMessage);
