/** What each `px` command does. Handlers return an exit code or throw a CliError. */
import { createPublicKey } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { DeliverySubscriber, type Delivery, type PolicyNotice } from "@parcel-exchange/sdk";
import { createKafka, createLogger, loadVerifier, ownGroup, verifierOf, type Config, type Logger, type Verifier } from "@parcel-exchange/shared";
import { exportJsonl, LedgerStore, verifyChain, verifyJsonl, type LedgerEntry, type VerifyResult } from "@parcel-exchange/ledger";
import { API_ROUTES, type EvaluateResponse } from "@parcel-exchange/policy-api";
import { credentialFile, credentialsDir, provisionDeployment, readParties } from "@parcel-exchange/provision";
import { changeFromOptions, webhookFromOptions, type CommandSpec, type OptionValues } from "./args.js";
import type { ApiClient } from "./client.js";
import { CliError, EXIT, UsageError, type ExitCode } from "./exit.js";
import { renderDiff, renderDryRun, renderHistory, renderProposalFull, renderProposalList, renderProposalSummary, renderTests, renderWebhook, renderWebhookList, renderWebhookSecret } from "./format.js";
import { withProgress, type ProgressStream } from "./progress.js";

export interface Io {
  out(text: string): void;
  readonly stderr: ProgressStream;
  /** Resolves when the user asks to stop (Ctrl-C); used by `tail`. */
  readonly interrupted: Promise<void>;
}

export interface Context {
  readonly io: Io;
  readonly args: readonly string[];
  readonly options: OptionValues;
  /** loadConfig(), loaded on first use. */
  config(): Config;
  api(): ApiClient;
}

type Handler = (ctx: Context) => Promise<ExitCode>;

const lines = (ctx: Context, text: readonly string[]) => ctx.io.out(`${text.join("\n")}\n`);
const json = (ctx: Context, value: unknown) => ctx.io.out(`${JSON.stringify(value, null, 2)}\n`);
const EVALUATING = "evaluating the change: compiling… testing… exact diff… dry run…";

async function evaluate(ctx: Context): Promise<EvaluateResponse> {
  const change = await changeFromOptions(ctx.options);
  const api = ctx.api();
  return withProgress(ctx.io.stderr, EVALUATING, () => api.call("evaluate", { body: { change } }));
}

/** diff, test and dry-run exit 3 when the service would refuse to accept the change as a proposal. */
const floorExit = (ev: EvaluateResponse): ExitCode => (ev.impact.floorViolations.length > 0 ? EXIT.rejected : EXIT.ok);

const policyDiff: Handler = async (ctx) => {
  const ev = await evaluate(ctx);
  if (ctx.options.json) json(ctx, { proposedVersion: ev.proposedVersion, impact: ev.impact });
  else lines(ctx, renderDiff(ev));
  return floorExit(ev);
};

const policyTest: Handler = async (ctx) => {
  const ev = await evaluate(ctx);
  if (ctx.options.json) json(ctx, { proposedVersion: ev.proposedVersion, tests: ev.tests, floorViolations: ev.impact.floorViolations });
  else {
    const out = [`compiled ${ev.proposedVersion}`, renderTests(ev.tests)];
    if (ev.impact.floorViolations.length > 0) out.push(`but it breaches the floor in ${ev.impact.floorViolations.length} case(s); see px policy diff`);
    lines(ctx, out);
  }
  return floorExit(ev);
};

const policyDryRun: Handler = async (ctx) => {
  const ev = await evaluate(ctx);
  if (ctx.options.json) json(ctx, { proposedVersion: ev.proposedVersion, dryRun: ev.dryRun });
  else lines(ctx, renderDryRun(ev.dryRun));
  return floorExit(ev);
};

const policyPropose: Handler = async (ctx) => {
  const description = ctx.options.description;
  if (typeof description !== "string" || description.trim() === "") throw new UsageError("--description \"…\" is required", "policy propose");
  const change = await changeFromOptions(ctx.options);
  const api = ctx.api();
  const p = await withProgress(ctx.io.stderr, `proposing: ${EVALUATING.slice(EVALUATING.indexOf(":") + 2)}`, () => api.call("propose", { body: { change, description } }));
  if (ctx.options.json) json(ctx, p);
  else lines(ctx, renderProposalSummary(p));
  return EXIT.ok;
};

const proposalAction = (action: "approve" | "apply"): Handler => async (ctx) => {
  const params = { id: ctx.args[0]! };
  const api = ctx.api();
  const p = await withProgress(ctx.io.stderr, `${action === "approve" ? "approving" : "applying"} ${params.id}…`, () =>
    action === "approve" ? api.call("approve", { params, body: { immediate: ctx.options.immediate === true } }) : api.call("apply", { params }),
  );
  if (ctx.options.json) json(ctx, p);
  else lines(ctx, renderProposalSummary(p));
  return EXIT.ok;
};

const policyReject: Handler = async (ctx) => {
  const reason = ctx.options.reason;
  if (typeof reason !== "string" || reason.trim() === "") throw new UsageError('--reason "…" is required', "policy reject");
  const p = await ctx.api().call("reject", { params: { id: ctx.args[0]! }, body: { reason } });
  if (ctx.options.json) json(ctx, p);
  else lines(ctx, renderProposalSummary(p));
  return EXIT.ok;
};

const policyRollback: Handler = async (ctx) => {
  const r = await ctx.api().call("rollback", { body: { version: ctx.args[0]! } });
  if (ctx.options.json) json(ctx, r);
  else lines(ctx, [`rolled back: ${r.version} is in force`]);
  return EXIT.ok;
};

const policyHistory: Handler = async (ctx) => {
  const [items, current] = await Promise.all([ctx.api().call("history"), ctx.api().call("currentVersion")]);
  if (ctx.options.json) json(ctx, items);
  else lines(ctx, [...renderHistory(items), "", `in force: ${current.version}`]);
  return EXIT.ok;
};

const policyShow: Handler = async (ctx) => {
  const p = await ctx.api().call("getProposal", { params: { id: ctx.args[0]! } });
  if (ctx.options.json) json(ctx, p);
  else lines(ctx, renderProposalFull(p));
  return EXIT.ok;
};

const policyList: Handler = async (ctx) => {
  const list = await ctx.api().call("listProposals");
  if (ctx.options.json) json(ctx, list);
  else lines(ctx, renderProposalList(list));
  return EXIT.ok;
};

// ------------------------------------------------------------------------------------------- webhooks

const webhooksList: Handler = async (ctx) => {
  const list = await ctx.api().call("listWebhooks");
  if (ctx.options.json) json(ctx, list);
  else lines(ctx, renderWebhookList(list));
  return EXIT.ok;
};

const webhooksAdd: Handler = async (ctx) => {
  const r = await ctx.api().call("createWebhook", { body: webhookFromOptions(ctx.options) });
  if (ctx.options.json) json(ctx, r);
  else lines(ctx, renderWebhookSecret(r, false));
  return EXIT.ok;
};

const webhooksRotate: Handler = async (ctx) => {
  const r = await ctx.api().call("rotateWebhookSecret", { params: { id: ctx.args[0]! } });
  if (ctx.options.json) json(ctx, r);
  else lines(ctx, renderWebhookSecret(r, true));
  return EXIT.ok;
};

const webhooksDisable: Handler = async (ctx) => {
  const reason = ctx.options.reason;
  if (typeof reason !== "string" || reason.trim() === "") throw new UsageError('--reason "…" is required', "webhooks disable");
  const e = await ctx.api().call("disableWebhook", { params: { id: ctx.args[0]! }, body: { reason } });
  if (ctx.options.json) json(ctx, e);
  else lines(ctx, renderWebhook(e));
  return EXIT.ok;
};

const webhooksEnable: Handler = async (ctx) => {
  const e = await ctx.api().call("enableWebhook", { params: { id: ctx.args[0]! } });
  if (ctx.options.json) json(ctx, e);
  else lines(ctx, renderWebhook(e));
  return EXIT.ok;
};

// ------------------------------------------------------------------------------------------- ledger

/** The CLI's own logs: errors only, so they do not drown the output. */
const quietLog = (): Logger => createLogger("px-cli", "error");

async function readTopic(ctx: Context): Promise<LedgerEntry[]> {
  const config = ctx.config();
  const log = quietLog();
  return withProgress(ctx.io.stderr, `reading the ledger topic ${config.topicPrefix}.ledger…`, async () => {
    const store = await LedgerStore.open({ config, kafka: createKafka(config, log), log });
    try {
      return await store.readAll();
    } finally {
      await store.close();
    }
  });
}

function parseExport(text: string): LedgerEntry[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l, i) => {
      try {
        return JSON.parse(l) as LedgerEntry;
      } catch {
        throw new CliError(EXIT.failed, `line ${i + 1} of the service's ledger export is not JSON`);
      }
    });
}

const ledgerExport: Handler = async (ctx) => {
  const out = ctx.options.out;
  if (typeof out !== "string") throw new UsageError("--out <file> is required", "ledger export");
  const entries = ctx.options["from-topic"] ? await readTopic(ctx) : parseExport(await ctx.api().call("ledgerExport"));
  let r: { entries: number; head?: string };
  try {
    r = await exportJsonl(entries, out);
  } catch (err) {
    throw new CliError(EXIT.failed, `cannot write ${out} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (ctx.options.json) json(ctx, { file: out, ...r });
  else lines(ctx, [`exported ${r.entries} entries to ${out}${r.head ? `; head ${r.head}` : ""}`]);
  return EXIT.ok;
};

/** The verifying key: --public-key, else the configured public key file (never generating a key pair). */
function verifierFor(ctx: Context): Verifier {
  const given = ctx.options["public-key"];
  const file = typeof given === "string" ? given : ctx.config().signing.publicKeyFile;
  if (!existsSync(file)) throw new UsageError(`no public key at ${file}: pass --public-key <pem> or set PX_VERIFY_KEY_FILE`, "ledger verify");
  if (typeof given !== "string" && existsSync(ctx.config().signing.privateKeyFile)) return loadVerifier(ctx.config());
  try {
    return verifierOf(createPublicKey(readFileSync(file)));
  } catch (err) {
    throw new UsageError(`${file} is not a PEM public key (${(err as Error).message})`, "ledger verify");
  }
}

const ledgerVerify: Handler = async (ctx) => {
  const file = ctx.options.file;
  const fromTopic = ctx.options["from-topic"] === true;
  if (typeof file === "string" && fromTopic) throw new UsageError("give either --file or --from-topic, not both", "ledger verify");
  const verifier = verifierFor(ctx);
  const expected = ctx.options["expected-head"];
  const opts = typeof expected === "string" ? { expectedHead: expected } : {};
  let result: VerifyResult;
  let source: string;
  if (typeof file === "string") {
    if (!existsSync(file)) throw new UsageError(`cannot read ledger file ${file} (ENOENT)`, "ledger verify");
    source = file;
    result = await verifyJsonl(file, verifier, opts);
  } else {
    const entries = fromTopic ? await readTopic(ctx) : await ctx.api().call("ledger");
    source = fromTopic ? `topic ${ctx.config().topicPrefix}.ledger` : `${ctx.api().baseUrl}${API_ROUTES.ledger.path}`;
    result = verifyChain(entries, verifier, opts);
  }
  if (ctx.options.json) json(ctx, { source, keyId: verifier.keyId, ...result });
  else if (result.ok) {
    lines(ctx, [`OK ${source}: ${result.entries} entries verified with key ${verifier.keyId}`, `head ${result.head ?? "(empty ledger)"}${result.headSeq !== undefined ? ` (seq ${result.headSeq})` : ""}`]);
  } else {
    const w = Math.max(...result.problems.map((p) => p.kind.length));
    lines(ctx, [
      `FAILED ${source}: ${result.problems.length} problem(s) in ${result.entries} entries (key ${verifier.keyId})`,
      ...result.problems.map((p) => `  ${p.kind.padEnd(w)}  seq ${p.seq === undefined ? "?" : String(p.seq)}  ${p.message}`),
    ]);
  }
  return result.ok ? EXIT.ok : EXIT.failed;
};

// ------------------------------------------------------------------------------------------- tail

const tail: Handler = async (ctx) => {
  const party = ctx.args[0]!;
  const max = typeof ctx.options.max === "number" ? ctx.options.max : undefined;
  const config = ctx.config();
  const out = (v: unknown) => ctx.io.out(`${JSON.stringify(v)}\n`);
  let count = 0;
  let reachedMax!: () => void;
  const enough = new Promise<void>((r) => (reachedMax = r));
  const sub = await DeliverySubscriber.connect({
    party,
    config,
    groupId: ownGroup(config, `tail-${party}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`),
    fromBeginning: ctx.options["from-beginning"] === true,
    logger: quietLog(),
    onNotice: (notice: PolicyNotice) => out({ kind: "notice", ...notice }),
    onError: (err) => ctx.io.stderr.write(`px: skipped an undecodable record: ${err.message}\n`),
  });
  try {
    await sub.run((d: Delivery) => {
      if (max !== undefined && count >= max) return;
      count++;
      out({ kind: "delivery", type: d.type, policyVersion: d.policyVersion, transformed: d.transformed, sourceEventId: d.sourceEventId, partition: d.partition, offset: d.offset, key: d.key, event: d.event });
      if (max !== undefined && count >= max) reachedMax();
    });
    await Promise.race([enough, ctx.io.interrupted]);
  } finally {
    await sub.disconnect().catch(() => undefined);
  }
  return EXIT.ok;
};

// ------------------------------------------------------------------------------------------- parties

const partiesProvision: Handler = async (ctx) => {
  const config = ctx.config();
  const file = typeof ctx.options.parties === "string" ? ctx.options.parties : "policies/data/parties.json";
  const dir = typeof ctx.options["credentials-dir"] === "string" ? ctx.options["credentials-dir"] : credentialsDir();
  const r = await provisionDeployment({ config, parties: readParties(file), credentialsDir: dir, log: quietLog() });
  const w = Math.max(...r.plan.identities.map((i) => i.principal.length));
  lines(ctx, [
    `provisioned deployment '${config.topicPrefix}': ${r.plan.identities.length} principals, ${r.topicsEnsured} topics, ${r.plan.acls.length} ACLs (${r.aclsCreated} new, ${r.aclsDeleted} removed), ${r.plan.quotas.length} quotas`,
    ...r.plan.identities.map((i) => `  ${i.principal.padEnd(w)}  ${i.role.padEnd(9)}  ${credentialFile(dir, i.principal)}`),
    `act as one: eval "$(npm run -s stack -- env ${r.plan.identities[0]?.principal ?? "<principal>"})"`,
  ]);
  return EXIT.ok;
};

export const HANDLERS: Readonly<Record<string, Handler>> = {
  "parties provision": partiesProvision,
  "policy diff": policyDiff,
  "policy test": policyTest,
  "policy dry-run": policyDryRun,
  "policy propose": policyPropose,
  "policy approve": proposalAction("approve"),
  "policy reject": policyReject,
  "policy apply": proposalAction("apply"),
  "policy rollback": policyRollback,
  "policy history": policyHistory,
  "policy show": policyShow,
  "policy list": policyList,
  "webhooks list": webhooksList,
  "webhooks add": webhooksAdd,
  "webhooks rotate": webhooksRotate,
  "webhooks disable": webhooksDisable,
  "webhooks enable": webhooksEnable,
  "ledger export": ledgerExport,
  "ledger verify": ledgerVerify,
  tail,
};

export function handlerFor(cmd: CommandSpec): Handler {
  const h = HANDLERS[cmd.id];
  if (h === undefined) throw new CliError(EXIT.failed, `no handler for ${cmd.id}`);
  return h;
}
