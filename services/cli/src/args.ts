/**
 * The command tree of `px`, a small argv parser for it, the help texts, and turning the change flags
 * (--contract, --rego, --remove-contract, …) into a PolicyChange. No dependencies beyond node:fs.
 *
 * Grammar: px [global options] <group> <command> [arguments] [options]. Options are `--name value` or
 * `--name=value`; flags take no value; `--` ends the options. Global options may appear anywhere.
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Contract, CreateWebhookRequest, PolicyChange } from "@parcel-exchange/policy-api";
import { EXIT_CODES_HELP, UsageError } from "./exit.js";

export type OptionKind = "string" | "flag" | "count";

export interface OptionSpec {
  readonly name: string;
  readonly kind: OptionKind;
  /** May be given more than once; the values are collected in order. */
  readonly repeat?: boolean;
  /** Placeholder shown in help, e.g. "<file.json>". */
  readonly value?: string;
  readonly help: string;
}

export interface ArgSpec {
  readonly name: string;
  readonly help: string;
}

export interface CommandSpec {
  /** Words that select the command, e.g. "policy diff". */
  readonly id: string;
  readonly summary: string;
  readonly description?: string;
  readonly args: readonly ArgSpec[];
  readonly options: readonly OptionSpec[];
  readonly examples?: readonly string[];
}

export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { name: "api", kind: "string", value: "<url>", help: "policy service URL (default: the PX_POLICY_URL setting, http://127.0.0.1:8470)" },
  { name: "key", kind: "string", value: "<api-key>", help: "API key (default: the PX_API_KEY environment variable)" },
  { name: "json", kind: "flag", help: "print the service's JSON instead of tables" },
  { name: "help", kind: "flag", help: "show help (also -h)" },
];

const CHANGE_OPTIONS: readonly OptionSpec[] = [
  { name: "contract", kind: "string", repeat: true, value: "<file.json>", help: "add or replace contract(s): a bare contract or {\"contracts\": {id: contract}} as in policies/contracts/" },
  { name: "remove-contract", kind: "string", repeat: true, value: "<id>", help: "remove the contract with this id" },
  { name: "rego", kind: "string", repeat: true, value: "<router/x.rego=path>", help: "add or replace a Rego file (a bare path is stored as router/<its name>)" },
  { name: "remove-rego", kind: "string", repeat: true, value: "<router/x.rego>", help: "remove a Rego file" },
  { name: "change", kind: "string", value: "<file.json>", help: "a whole change {contracts?, rego?, parties?}; the flags above are applied on top" },
];

const PUBLIC_KEY: OptionSpec = { name: "public-key", kind: "string", value: "<pem>", help: "Ed25519 public key to verify with (default: the PX_VERIFY_KEY_FILE setting)" };

export const COMMANDS: readonly CommandSpec[] = [
  {
    id: "policy diff",
    summary: "exact impact of a change: what each party would gain or lose",
    description: "Compiles the change on top of the policy in force and compares every decision (event type × parties × recipient). Exits 3 when the change breaches the regulator's floor.",
    args: [],
    options: CHANGE_OPTIONS,
    examples: ["px policy diff --contract policies/contracts/hive-box--taobao.json", "px policy diff --remove-contract jd--zto"],
  },
  {
    id: "policy test",
    summary: "compile the change and run the Rego tests",
    description: "Prints tests passed/failed and coverage, or the compiler's message (exit 3).",
    args: [],
    options: CHANGE_OPTIONS,
    examples: ["px policy test --rego router/floor.rego=./floor.rego"],
  },
  {
    id: "policy dry-run",
    summary: "replay recent traffic under the change and show what would differ",
    args: [],
    options: CHANGE_OPTIONS,
    examples: ["px policy dry-run --contract ./hive-box--taobao.json"],
  },
  {
    id: "policy propose",
    summary: "submit a change for approval",
    description: "Prints the proposal id, its status, the reductions it makes and a dry-run summary.",
    args: [],
    options: [...CHANGE_OPTIONS, { name: "description", kind: "string", value: "<text>", help: "what the change does and why (required)" }],
    examples: ['px policy propose --contract ./jd--zto.json --description "ZTO shares tracking for 7 days notice"'],
  },
  {
    id: "policy approve",
    summary: "approve a proposal",
    args: [{ name: "proposal-id", help: "e.g. prop-1a2b3c4d" }],
    options: [{ name: "immediate", kind: "flag", help: "regulator only: take effect now, without the notice period" }],
  },
  {
    id: "policy reject",
    summary: "turn a proposal down before it takes effect (a side of its contracts, or a regulator)",
    args: [{ name: "proposal-id", help: "e.g. prop-1a2b3c4d" }],
    options: [{ name: "reason", kind: "string", value: "<text>", help: "why (required, at most 500 characters; recorded in the ledger and shown to every side)" }],
  },
  { id: "policy apply", summary: "regulator: put an approved proposal into effect now", args: [{ name: "proposal-id", help: "e.g. prop-1a2b3c4d" }], options: [] },
  { id: "policy rollback", summary: "regulator: put an earlier version back in force", args: [{ name: "version", help: "a version from `px policy history`, e.g. v1" }], options: [] },
  { id: "policy history", summary: "published versions and rollbacks", args: [], options: [] },
  { id: "policy show", summary: "one proposal in full: change, impact, dry run, approvals", args: [{ name: "proposal-id", help: "e.g. prop-1a2b3c4d" }], options: [] },
  { id: "policy list", summary: "all proposals", args: [], options: [] },
  {
    id: "webhooks list",
    summary: "webhook endpoints (a party sees its own; secrets only as fingerprints)",
    args: [],
    options: [],
  },
  {
    id: "webhooks add",
    summary: "register a webhook endpoint; prints its signing secret once",
    description: "The gateway POSTs each delivery of the listed event types to the URL, signed Standard Webhooks style with the secret printed here. A party registers for itself; a regulator names --party.",
    args: [],
    options: [
      { name: "url", kind: "string", value: "<https-url>", help: "where deliveries are POSTed (required; https, no user name, password or fragment)" },
      { name: "types", kind: "string", value: "<Type,Type…>", help: "event types to deliver, comma-separated, e.g. TrackingEvent,LockerEvent (required)" },
      { name: "format", kind: "string", value: "<json|epcis>", help: "body format: {type, timestamp, data} (json, default) or a GS1 EPCIS 2.0 document (epcis)" },
      { name: "party", kind: "string", value: "<party>", help: "the owning party (regulators must give it; a party may only give its own)" },
    ],
    examples: ["px webhooks add --url https://hooks.example.com/px --types TrackingEvent,LockerEvent"],
  },
  { id: "webhooks rotate", summary: "a new signing secret, printed once; the old one keeps signing for 24 h", args: [{ name: "endpoint-id", help: "e.g. ep_0123456789abcdef01234567" }], options: [] },
  {
    id: "webhooks disable",
    summary: "stop deliveries to an endpoint",
    args: [{ name: "endpoint-id", help: "e.g. ep_0123456789abcdef01234567" }],
    options: [{ name: "reason", kind: "string", value: "<text>", help: "why (required, at most 500 characters; recorded in the ledger)" }],
  },
  { id: "webhooks enable", summary: "resume deliveries to a disabled endpoint", args: [{ name: "endpoint-id", help: "e.g. ep_0123456789abcdef01234567" }], options: [] },
  {
    id: "ledger export",
    summary: "write the ledger to a JSONL file",
    args: [],
    options: [
      { name: "out", kind: "string", value: "<file>", help: "where to write (required; replaced atomically)" },
      { name: "from-topic", kind: "flag", help: "read the ledger topic on Kafka directly instead of asking the policy service" },
    ],
    examples: ["px ledger export --out ledger.jsonl"],
  },
  {
    id: "ledger verify",
    summary: "verify the ledger's hash chain and signatures locally",
    description: "Reads an export (--file), the Kafka topic (--from-topic) or, by default, the entries the policy service returns, and checks them with the public key. Prints OK with the entry count and head hash, or every problem (kind, seq, message) and exits 1.",
    args: [],
    options: [
      { name: "file", kind: "string", value: "<jsonl>", help: "a file written by `px ledger export`" },
      { name: "from-topic", kind: "flag", help: "read the ledger topic on Kafka directly" },
      { name: "expected-head", kind: "string", value: "<hash>", help: "a head hash you trust from earlier; detects entries removed at the end" },
      PUBLIC_KEY,
    ],
    examples: ["px ledger verify --file ledger.jsonl --expected-head 3f1c…"],
  },
  {
    id: "tail",
    summary: "print what a party receives: one JSON line per delivery (and per notice)",
    description: "Reads <prefix>.deliver.<party> with a fresh consumer group (the party's own offsets are untouched). Lines are {\"kind\":\"delivery\",type,policyVersion,transformed,event,…} or {\"kind\":\"notice\",…}. Stop with Ctrl-C.",
    args: [{ name: "party", help: "party id, e.g. taobao" }],
    options: [
      { name: "from-beginning", kind: "flag", help: "start at the oldest record instead of new ones" },
      { name: "max", kind: "count", value: "<n>", help: "stop after n deliveries" },
    ],
    examples: ["px tail taobao --from-beginning --max 10"],
  },
  {
    id: "parties provision",
    summary: "create every party's and service's identity, topics, ACLs and quotas on the cluster (admin only; idempotent)",
    description: "Reads the parties file and, as the cluster's admin principal (KAFKA_SASL_* of a super user, SCHEMA_REGISTRY_* of the registry admin), creates for the deployment PX_TOPIC_PREFIX: one SCRAM-SHA-512 principal per party and per service (<prefix>.<id>) with a generated password kept in the credentials directory (mode 0600), the parties' ingress and delivery topics, ACLs that let each principal do its job and nothing else (rights no longer in the plan are removed), per-party produce/fetch byte-rate quotas, registry users (read-only) and the event schemas. Run it again after adding a party; no broker restart.",
    args: [],
    options: [
      { name: "parties", kind: "string", value: "<file>", help: "the parties file (default policies/data/parties.json)" },
      { name: "credentials-dir", kind: "string", value: "<dir>", help: "where generated passwords are written (default PX_CREDENTIALS_DIR or ~/.local/state/parcel-exchange/credentials)" },
    ],
    examples: ["eval \"$(npm run -s stack -- env)\" && npx px parties provision", "npm run -s stack -- env px.zto   # then act as ZTO"],
  },
];

export const GROUPS: Readonly<Record<string, string>> = {
  policy: "propose, review, approve and roll back data-sharing policies",
  ledger: "export and verify the tamper-evident ledger",
  webhooks: "register, rotate, disable and enable the webhook endpoints deliveries are POSTed to",
  parties: "provision the parties' and services' identities and rights on the cluster",
};

const commandById = new Map(COMMANDS.map((c) => [c.id, c]));

export type OptionValues = Record<string, string | boolean | number | string[] | undefined>;

export type Parsed =
  | { readonly kind: "help"; readonly topic: string }
  | { readonly kind: "run"; readonly command: CommandSpec; readonly args: readonly string[]; readonly options: OptionValues };

const globalByName = new Map(GLOBAL_OPTIONS.map((o) => [o.name, o]));

function isHelpToken(t: string): boolean {
  return t === "--help" || t === "-h";
}

/** Splits `--name=value` into name and value. */
function optionToken(t: string): { name: string; inline: string | undefined } {
  const body = t.slice(2);
  const eq = body.indexOf("=");
  return eq < 0 ? { name: body, inline: undefined } : { name: body.slice(0, eq), inline: body.slice(eq + 1) };
}

/**
 * Parses argv (without node and the script). Returns a help request or a command with its values; throws
 * UsageError for anything wrong.
 */
export function parseArgs(argv: readonly string[]): Parsed {
  // Pass 1: find the command words, stepping over global options (and their values).
  const path: string[] = [];
  const consumed = new Set<number>();
  let command: CommandSpec | undefined;
  let stray: string | undefined;
  const helpAsked = argv.some((t, i) => isHelpToken(t) && !argv.slice(0, i).includes("--"));
  for (let i = 0; i < argv.length && command === undefined; i++) {
    const t = argv[i]!;
    if (t === "--") break;
    if (t.startsWith("-")) {
      const g = t.startsWith("--") ? globalByName.get(optionToken(t).name) : undefined;
      if (g?.kind === "string" && optionToken(t).inline === undefined) i++;
      continue;
    }
    const candidate = [...path, t].join(" ");
    if (commandById.has(candidate)) {
      command = commandById.get(candidate);
      consumed.add(i);
    } else if (GROUPS[candidate] !== undefined) {
      path.push(t);
      consumed.add(i);
    } else {
      stray = t;
      break;
    }
  }
  const topic = command?.id ?? path.join(" ");
  if (helpAsked) return { kind: "help", topic };
  if (command === undefined) {
    if (stray !== undefined) throw new UsageError(`unknown command '${[...path, stray].join(" ")}'`, topic);
    throw new UsageError(path.length === 0 ? "no command given" : `'px ${topic}' needs a command`, topic);
  }

  // Pass 2: options and arguments.
  const specs = new Map<string, OptionSpec>([...GLOBAL_OPTIONS, ...command.options].map((o) => [o.name, o]));
  const options: OptionValues = {};
  const args: string[] = [];
  let onlyArgs = false;
  for (let i = 0; i < argv.length; i++) {
    if (consumed.has(i)) continue;
    const t = argv[i]!;
    if (onlyArgs || t === "-" || !t.startsWith("-")) {
      args.push(t);
      continue;
    }
    if (t === "--") {
      onlyArgs = true;
      continue;
    }
    if (!t.startsWith("--")) throw new UsageError(`unknown option '${t}'`, command.id);
    const { name, inline } = optionToken(t);
    const spec = specs.get(name);
    if (spec === undefined) throw new UsageError(`unknown option '--${name}' for 'px ${command.id}'`, command.id);
    let value: string | boolean | number;
    if (spec.kind === "flag") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`, command.id);
      value = true;
    } else {
      let raw = inline;
      if (raw === undefined) {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith("--") && next.length > 2)) throw new UsageError(`--${name} needs a value ${spec.value ?? ""}`.trimEnd(), command.id);
        raw = next;
        i++;
      }
      if (spec.kind === "count") {
        if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`--${name} must be a whole number of at least 1, not '${raw}'`, command.id);
        value = Number(raw);
      } else {
        if (raw === "") throw new UsageError(`--${name} must not be empty`, command.id);
        value = raw;
      }
    }
    if (spec.repeat) {
      options[name] = [...((options[name] as string[] | undefined) ?? []), String(value)];
    } else {
      if (options[name] !== undefined) throw new UsageError(`--${name} given more than once`, command.id);
      options[name] = value;
    }
  }
  if (args.length < command.args.length) {
    const missing = command.args.slice(args.length).map((a) => `<${a.name}>`);
    throw new UsageError(`missing ${missing.join(" ")}`, command.id);
  }
  if (args.length > command.args.length) throw new UsageError(`unexpected argument '${args[command.args.length]}'`, command.id);
  return { kind: "run", command, args, options };
}

// ------------------------------------------------------------------------------------------- help

function optionLines(opts: readonly OptionSpec[]): string[] {
  const left = opts.map((o) => `--${o.name}${o.value ? ` ${o.value}` : ""}${o.repeat ? " …" : ""}`);
  const width = Math.max(0, ...left.map((l) => l.length));
  return opts.map((o, i) => `  ${left[i]!.padEnd(width)}  ${o.help}`);
}

function commandList(cmds: readonly CommandSpec[]): string[] {
  const width = Math.max(0, ...cmds.map((c) => c.id.length));
  return cmds.map((c) => `  ${c.id.padEnd(width)}  ${c.summary}`);
}

/** Help text for the root (""), a group ("policy") or a command ("policy diff"). */
export function helpText(topic: string): string {
  const cmd = commandById.get(topic);
  if (cmd !== undefined) {
    const usage = [`px ${cmd.id}`, ...cmd.args.map((a) => `<${a.name}>`), cmd.options.length > 0 ? "[options]" : ""].filter(Boolean).join(" ");
    const out = [`Usage: ${usage}`, "", cmd.summary + (cmd.summary.endsWith(".") ? "" : ".")];
    if (cmd.description) out.push("", cmd.description);
    if (cmd.args.length > 0) {
      const w = Math.max(...cmd.args.map((a) => a.name.length + 2));
      out.push("", "Arguments:", ...cmd.args.map((a) => `  ${`<${a.name}>`.padEnd(w)}  ${a.help}`));
    }
    if (cmd.options.length > 0) out.push("", "Options:", ...optionLines(cmd.options));
    out.push("", "Global options:", ...optionLines(GLOBAL_OPTIONS));
    if (cmd.examples?.length) out.push("", "Examples:", ...cmd.examples.map((e) => `  ${e}`));
    out.push("", EXIT_CODES_HELP);
    return out.join("\n") + "\n";
  }
  if (topic !== "" && GROUPS[topic] !== undefined) {
    const cmds = COMMANDS.filter((c) => c.id.startsWith(`${topic} `));
    return [`Usage: px ${topic} <command> [options]`, "", `${GROUPS[topic]}.`, "", "Commands:", ...commandList(cmds), "", "Global options:", ...optionLines(GLOBAL_OPTIONS), "", `Run 'px ${topic} <command> --help' for a command's options.`, "", EXIT_CODES_HELP].join("\n") + "\n";
  }
  return [
    "px — command-line client for Parcel Exchange: policies, ledger and delivery topics.",
    "",
    "Usage: px <command> [options]",
    "",
    "Commands:",
    ...commandList(COMMANDS),
    "",
    "Global options:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    "Settings are read like the services read them (PX_POLICY_URL, KAFKA_BROKERS, PX_TOPIC_PREFIX,",
    "PX_VERIFY_KEY_FILE, …); the API key comes from --key or PX_API_KEY.",
    "Run 'px <command> --help' for a command's options.",
    "",
    EXIT_CODES_HELP,
  ].join("\n") + "\n";
}

// ------------------------------------------------------------------------------------------- API key

/**
 * The API key: --key, else PX_API_KEY from the environment given (the caller passes process.env). This is
 * the only place the CLI looks at the environment itself; every other setting comes from loadConfig.
 */
export function apiKeyOf(options: OptionValues, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const fromFlag = options.key;
  if (typeof fromFlag === "string") return fromFlag;
  const fromEnv = env.PX_API_KEY?.trim();
  return fromEnv ? fromEnv : undefined;
}

// ------------------------------------------------------------------------------------------- change flags

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const REGO_PATH = /^router\/[A-Za-z0-9_.-]+\.rego$/;

export type TextReader = (file: string) => Promise<string>;
const readText: TextReader = (file) => readFile(file, "utf8");

async function readInput(file: string, what: string, read: TextReader): Promise<string> {
  try {
    return await read(file);
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

async function readJson(file: string, what: string, read: TextReader): Promise<unknown> {
  const text = await readInput(file, what, read);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} ${file} is not JSON (${(err as Error).message})`);
  }
}

/** The contracts in a contract file: a bare contract, or {"contracts": {id: contract}} as in policies/contracts/. */
export function contractsOfFile(raw: unknown, file: string): Record<string, Contract> {
  if (!isObj(raw)) throw new UsageError(`contract file ${file} must hold a JSON object`);
  if (raw.contracts !== undefined) {
    if (!isObj(raw.contracts)) throw new UsageError(`contract file ${file}: "contracts" must be an object of id → contract`);
    const out: Record<string, Contract> = {};
    for (const [id, c] of Object.entries(raw.contracts)) {
      if (!isObj(c)) throw new UsageError(`contract file ${file}: contracts.${id} must be an object`);
      if (c.id !== undefined && c.id !== id) throw new UsageError(`contract file ${file}: contracts.${id} has id '${String(c.id)}'`);
      out[id] = { ...c, id } as unknown as Contract;
    }
    if (Object.keys(out).length === 0) throw new UsageError(`contract file ${file} holds no contract`);
    return out;
  }
  if (typeof raw.id === "string" && raw.id !== "" && (raw.parties !== undefined || raw.grants !== undefined)) return { [raw.id]: raw as unknown as Contract };
  throw new UsageError(`contract file ${file} is neither a contract (with id, parties, grants) nor {"contracts": {id: contract}}`);
}

/** Builds the PolicyChange the change flags describe, reading the files they name. */
export async function changeFromOptions(options: OptionValues, read: TextReader = readText): Promise<PolicyChange> {
  const list = (name: string): string[] => (options[name] as string[] | undefined) ?? [];
  const contracts: Record<string, Contract | null> = {};
  const rego: Record<string, string | null> = {};
  let parties: Record<string, unknown> | undefined;
  const origin = new Map<string, string>();
  const setContract = (id: string, c: Contract | null, from: string) => {
    const earlier = origin.get(`c:${id}`);
    if (earlier !== undefined && earlier !== "--change") throw new UsageError(`contract ${id} is given twice (${earlier} and ${from})`);
    origin.set(`c:${id}`, from);
    contracts[id] = c;
  };
  const setRego = (path: string, text: string | null, from: string) => {
    if (!REGO_PATH.test(path)) throw new UsageError(`Rego path '${path}' must be router/<name>.rego`);
    const earlier = origin.get(`r:${path}`);
    if (earlier !== undefined && earlier !== "--change") throw new UsageError(`Rego file ${path} is given twice (${earlier} and ${from})`);
    origin.set(`r:${path}`, from);
    rego[path] = text;
  };

  const whole = options.change;
  if (typeof whole === "string") {
    const raw = await readJson(whole, "change file", read);
    if (!isObj(raw)) throw new UsageError(`change file ${whole} must hold a JSON object {contracts?, rego?, parties?}`);
    const unknown = Object.keys(raw).filter((k) => !["contracts", "rego", "parties"].includes(k));
    if (unknown.length > 0) throw new UsageError(`change file ${whole} has unknown key(s) ${unknown.join(", ")}; expected contracts, rego, parties`);
    for (const k of ["contracts", "rego", "parties"] as const) if (raw[k] !== undefined && !isObj(raw[k])) throw new UsageError(`change file ${whole}: "${k}" must be an object`);
    for (const [id, c] of Object.entries((raw.contracts as Record<string, unknown>) ?? {})) setContract(id, c as Contract | null, "--change");
    for (const [p, t] of Object.entries((raw.rego as Record<string, unknown>) ?? {})) {
      if (t !== null && typeof t !== "string") throw new UsageError(`change file ${whole}: rego.${p} must be text or null`);
      setRego(p, t, "--change");
    }
    if (raw.parties !== undefined) parties = raw.parties as Record<string, unknown>;
  }
  for (const file of list("contract")) {
    for (const [id, c] of Object.entries(contractsOfFile(await readJson(file, "contract file", read), file))) setContract(id, c, file);
  }
  for (const id of list("remove-contract")) setContract(id, null, `--remove-contract ${id}`);
  for (const spec of list("rego")) {
    const eq = spec.indexOf("=");
    const [path, file] = eq < 0 ? [`router/${basename(spec)}`, spec] : [spec.slice(0, eq), spec.slice(eq + 1)];
    if (file === "") throw new UsageError(`--rego ${spec}: no file after '='`);
    setRego(path, await readInput(file, "Rego file", read), `--rego ${spec}`);
  }
  for (const path of list("remove-rego")) setRego(path, null, `--remove-rego ${path}`);

  const change: { contracts?: typeof contracts; rego?: typeof rego; parties?: Record<string, unknown> } = {};
  if (Object.keys(contracts).length > 0) change.contracts = contracts;
  if (Object.keys(rego).length > 0) change.rego = rego;
  if (parties !== undefined && Object.keys(parties).length > 0) change.parties = parties;
  if (Object.keys(change).length === 0) throw new UsageError("no change given: use --contract, --remove-contract, --rego, --remove-rego or --change");
  return change as PolicyChange;
}

// ------------------------------------------------------------------------------------------- webhook flags

/** The body of `px webhooks add` from its flags; the service checks the URL and the event types. */
export function webhookFromOptions(options: OptionValues): CreateWebhookRequest {
  const { url, types, format, party } = options;
  if (typeof url !== "string") throw new UsageError("--url <https-url> is required", "webhooks add");
  if (typeof types !== "string") throw new UsageError("--types <Type,Type…> is required, e.g. --types TrackingEvent,LockerEvent", "webhooks add");
  const eventTypes = types.split(",").map((t) => t.trim()).filter((t) => t !== "");
  if (eventTypes.length === 0) throw new UsageError("--types names no event type", "webhooks add");
  if (format !== undefined && format !== "json" && format !== "epcis") throw new UsageError(`--format must be json or epcis, not '${String(format)}'`, "webhooks add");
  return { url, eventTypes: eventTypes as CreateWebhookRequest["eventTypes"], ...(format === undefined ? {} : { format }), ...(typeof party === "string" ? { party } : {}) };
}
