import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { apiKeyOf, changeFromOptions, COMMANDS, contractsOfFile, helpText, parseArgs, webhookFromOptions, type Parsed } from "./args.js";
import { HANDLERS } from "./commands.js";
import { exitCodeOfStatus, detailLines } from "./client.js";
import { EXIT, UsageError } from "./exit.js";
import { main } from "./main.js";

const run = (argv: string[]) => {
  const p = parseArgs(argv);
  if (p.kind !== "run") throw new Error(`expected a command, got help for '${p.topic}'`);
  return p;
};

const usage = (argv: string[]): UsageError => {
  try {
    parseArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return err as UsageError;
  }
  throw new Error(`expected a usage error for ${argv.join(" ")}`);
};

async function capture(argv: string[], env: Record<string, string> = {}) {
  let out = "";
  let err = "";
  const code = await main(argv, env, { out: (t) => void (out += t), err: (t) => void (err += t), stderr: { write: (t: string) => (err += t), isTTY: false }, interrupted: new Promise(() => undefined) });
  return { code, out, err };
}

describe("parseArgs", () => {
  it("finds the command, its arguments and options in any order, with global options anywhere", () => {
    const p = run(["--api", "http://h:1", "policy", "approve", "prop-1", "--immediate", "--key=k"]);
    expect(p.command.id).toBe("policy approve");
    expect(p.args).toEqual(["prop-1"]);
    expect(p.options).toEqual({ api: "http://h:1", immediate: true, key: "k" });
    expect(run(["tail", "taobao", "--max", "5", "--from-beginning"]).options).toEqual({ max: 5, "from-beginning": true });
  });

  it("collects repeatable options and accepts --name=value", () => {
    const p = run(["policy", "diff", "--contract", "a.json", "--contract=b.json", "--rego", "router/x.rego=./x.rego", "--remove-contract", "jd--zto"]);
    expect(p.options.contract).toEqual(["a.json", "b.json"]);
    expect(p.options.rego).toEqual(["router/x.rego=./x.rego"]);
    expect(p.options["remove-contract"]).toEqual(["jd--zto"]);
  });

  it("treats everything after -- as arguments", () => {
    expect(run(["policy", "show", "--", "--odd-id"]).args).toEqual(["--odd-id"]);
  });

  it("answers --help and -h at every level", () => {
    expect(parseArgs(["--help"])).toEqual<Parsed>({ kind: "help", topic: "" });
    expect(parseArgs(["policy", "-h"])).toEqual<Parsed>({ kind: "help", topic: "policy" });
    expect(parseArgs(["ledger", "verify", "--help"])).toEqual<Parsed>({ kind: "help", topic: "ledger verify" });
    // Help wins over mistakes elsewhere on the line.
    expect(parseArgs(["policy", "approve", "--bogus", "--help"])).toEqual<Parsed>({ kind: "help", topic: "policy approve" });
  });

  it("reports usage errors (exit 2) naming the problem", () => {
    expect(usage([]).message).toMatch(/no command/);
    expect(usage(["policy"]).message).toMatch(/needs a command/);
    expect(usage(["policy", "frob"]).message).toMatch(/unknown command 'policy frob'/);
    expect(usage(["nope"]).helpFor).toBe("");
    expect(usage(["policy", "history", "--bogus"]).message).toMatch(/unknown option '--bogus'/);
    expect(usage(["policy", "approve"]).message).toMatch(/missing <proposal-id>/);
    expect(usage(["policy", "approve", "a", "b"]).message).toMatch(/unexpected argument 'b'/);
    expect(usage(["policy", "approve", "a", "--immediate=yes"]).message).toMatch(/takes no value/);
    expect(usage(["ledger", "export", "--out"]).message).toMatch(/--out needs a value/);
    expect(usage(["ledger", "export", "--out", "--from-topic"]).message).toMatch(/--out needs a value/);
    expect(usage(["tail", "taobao", "--max", "0"]).message).toMatch(/at least 1/);
    expect(usage(["tail", "taobao", "--max", "ten"]).message).toMatch(/whole number/);
    expect(usage(["policy", "list", "--api", "a", "--api", "b"]).message).toMatch(/more than once/);
    expect(usage(["policy", "list", "-x"]).message).toMatch(/unknown option '-x'/);
  });
});

describe("help", () => {
  it("lists every command at the root and documents the exit codes everywhere", () => {
    const root = helpText("");
    for (const c of COMMANDS) expect(root).toContain(c.id);
    for (const topic of ["", "policy", "ledger", ...COMMANDS.map((c) => c.id)]) {
      expect(helpText(topic)).toMatch(/Exit codes:[\s\S]*3 +rejected[\s\S]*7 +service unreachable/);
    }
    expect(helpText("policy")).not.toContain("ledger export");
    expect(helpText("policy diff")).toMatch(/--contract <file\.json>/);
    expect(helpText("policy propose")).toMatch(/--description <text>/);
  });

  it("main prints help with exit 0 and usage errors on stderr with exit 2", async () => {
    const h = await capture(["policy", "--help"]);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/Usage: px policy <command>/);
    const u = await capture(["policy", "approve"]);
    expect(u.code).toBe(EXIT.usage);
    expect(u.out).toBe("");
    expect(u.err).toMatch(/missing <proposal-id>[\s\S]*px policy approve --help/);
  });

  it("main reports a missing API key as not allowed (4) and an unreachable service as 7", async () => {
    expect((await capture(["policy", "list", "--api", "http://127.0.0.1:9"])).code).toBe(EXIT.forbidden);
    const r = await capture(["policy", "list", "--api", "http://127.0.0.1:9"], { PX_API_KEY: "k" });
    expect(r.code).toBe(EXIT.unreachable);
    expect(r.err).toMatch(/cannot reach the policy service/);
    expect((await capture(["policy", "list", "--api", "ftp://x", "--key", "k"])).code).toBe(EXIT.usage);
  });

  it("propose needs --description, and every change command needs a change", async () => {
    expect((await capture(["policy", "propose", "--remove-contract", "x", "--key", "k"])).err).toMatch(/--description/);
    const r = await capture(["policy", "diff", "--key", "k", "--api", "http://127.0.0.1:9"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/no change given/);
  });
});

describe("px webhooks", () => {
  it("parses list, add, rotate, disable and enable with their arguments and options", () => {
    expect(run(["webhooks", "list", "--json"])).toMatchObject({ command: { id: "webhooks list" }, args: [], options: { json: true } });
    const add = run(["webhooks", "add", "--url", "https://hooks.example.com/px", "--types", "TrackingEvent,LockerEvent", "--format=epcis", "--party", "jd", "--key", "k"]);
    expect(add.command.id).toBe("webhooks add");
    expect(add.options).toEqual({ url: "https://hooks.example.com/px", types: "TrackingEvent,LockerEvent", format: "epcis", party: "jd", key: "k" });
    expect(run(["webhooks", "rotate", "ep_0123456789abcdef01234567"]).args).toEqual(["ep_0123456789abcdef01234567"]);
    expect(run(["webhooks", "disable", "ep_1", "--reason", "moving to a new host"])).toMatchObject({ args: ["ep_1"], options: { reason: "moving to a new host" } });
    expect(run(["webhooks", "enable", "ep_1"]).command.id).toBe("webhooks enable");
    for (const c of COMMANDS.filter((x) => x.id.startsWith("webhooks "))) expect(HANDLERS[c.id], c.id).toBeDefined();
  });

  it("reports usage errors for missing ids, stray arguments and unknown options", () => {
    expect(usage(["webhooks"]).message).toMatch(/needs a command/);
    expect(usage(["webhooks", "rotate"]).message).toMatch(/missing <endpoint-id>/);
    expect(usage(["webhooks", "enable", "a", "b"]).message).toMatch(/unexpected argument 'b'/);
    expect(usage(["webhooks", "disable", "ep_1", "--reason"]).message).toMatch(/--reason needs a value/);
    expect(usage(["webhooks", "add", "--secret", "x"]).message).toMatch(/unknown option '--secret'/);
    expect(usage(["webhooks", "list", "--url", "x"]).message).toMatch(/unknown option '--url'/);
  });

  it("builds the add body from the flags: comma-separated types, format and party only when given", () => {
    expect(webhookFromOptions({ url: "https://h.example.com/", types: "TrackingEvent, LockerEvent," })).toEqual({ url: "https://h.example.com/", eventTypes: ["TrackingEvent", "LockerEvent"] });
    expect(webhookFromOptions({ url: "https://h.example.com/", types: "OrderCreated", format: "epcis", party: "jd" })).toEqual({ url: "https://h.example.com/", eventTypes: ["OrderCreated"], format: "epcis", party: "jd" });
    expect(() => webhookFromOptions({ types: "TrackingEvent" })).toThrow(/--url/);
    expect(() => webhookFromOptions({ url: "https://h.example.com/" })).toThrow(/--types/);
    expect(() => webhookFromOptions({ url: "https://h.example.com/", types: " , " })).toThrow(/names no event type/);
    expect(() => webhookFromOptions({ url: "https://h.example.com/", types: "TrackingEvent", format: "xml" })).toThrow(/json or epcis/);
  });

  it("main: add without --url and disable without --reason are usage errors (exit 2) before any request", async () => {
    const add = await capture(["webhooks", "add", "--types", "TrackingEvent", "--key", "k", "--api", "http://127.0.0.1:9"]);
    expect(add.code).toBe(EXIT.usage);
    expect(add.err).toMatch(/--url <https-url> is required[\s\S]*px webhooks add --help/);
    expect((await capture(["webhooks", "disable", "ep_1", "--key", "k", "--api", "http://127.0.0.1:9"])).code).toBe(EXIT.usage);
    expect(helpText("webhooks")).toMatch(/webhooks add[\s\S]*webhooks rotate/);
  });
});

describe("API key", () => {
  it("prefers --key, then PX_API_KEY", () => {
    expect(apiKeyOf({ key: "flag" }, { PX_API_KEY: "env" })).toBe("flag");
    expect(apiKeyOf({}, { PX_API_KEY: " env " })).toBe("env");
    expect(apiKeyOf({}, { PX_API_KEY: "" })).toBeUndefined();
    expect(apiKeyOf({}, {})).toBeUndefined();
  });
});

describe("exit codes of HTTP statuses", () => {
  it("maps the policy service's statuses", () => {
    expect([400, 401, 403, 404, 409, 422, 500].map(exitCodeOfStatus)).toEqual([2, 4, 4, 5, 6, 3, 1]);
  });

  it("renders rejection details readably", () => {
    expect(detailLines({ compiler: "1 error occurred:\nx.rego:3: rego_parse_error" })).toEqual(["compiler:", "  1 error occurred:", "  x.rego:3: rego_parse_error"]);
    expect(detailLines({ tests: { passed: 3, failed: 1, coverage: 91.25, failures: ["data.px.t.test_x"] } })).toEqual(["tests: 3 passed, 1 failed, coverage 91.3%", "  FAIL data.px.t.test_x"]);
    expect(detailLines({ floorViolations: ["taobao would stop receiving"] })).toEqual(["floor violations:", "  taobao would stop receiving"]);
    expect(detailLines(["a", "b"])).toEqual(["a", "b"]);
  });
});

describe("building the change from flags", () => {
  const files = async (content: Record<string, string>) => {
    const dir = await mkdtemp(join(tmpdir(), "px-cli-"));
    for (const [name, text] of Object.entries(content)) await writeFile(join(dir, name), text);
    return (name: string) => join(dir, name);
  };
  const bare = { id: "jd--zto", parties: ["jd", "zto"], notice_days: 7, grants: [] };

  it("reads a repository contract file ({contracts: {id: …}}) as is", async () => {
    const file = "policies/contracts/jd--zto.json";
    const expected = JSON.parse(await readFile(file, "utf8")) as { contracts: Record<string, unknown> };
    expect(await changeFromOptions({ contract: [file] })).toEqual({ contracts: expected.contracts });
  });

  it("reads a bare contract, keyed by its id, and merges several files with removals and Rego", async () => {
    const f = await files({ "bare.json": JSON.stringify(bare), "x.rego": "package px.x\n", "two.json": JSON.stringify({ contracts: { "taobao--zto": { parties: ["taobao", "zto"], grants: [] } } }) });
    const change = await changeFromOptions({ contract: [f("bare.json"), f("two.json")], "remove-contract": ["hive-box--jd"], rego: [`router/extra.rego=${f("x.rego")}`, f("x.rego")], "remove-rego": ["router/old.rego"] });
    expect(change).toEqual({
      contracts: { "jd--zto": bare, "taobao--zto": { id: "taobao--zto", parties: ["taobao", "zto"], grants: [] }, "hive-box--jd": null },
      rego: { "router/extra.rego": "package px.x\n", "router/x.rego": "package px.x\n", "router/old.rego": null },
    });
  });

  it("starts from a --change file and lets the flags override it", async () => {
    const f = await files({ "change.json": JSON.stringify({ contracts: { "jd--zto": null }, parties: { newco: { kind: "courier" } } }), "bare.json": JSON.stringify(bare) });
    expect(await changeFromOptions({ change: f("change.json"), contract: [f("bare.json")] })).toEqual({ contracts: { "jd--zto": bare }, parties: { newco: { kind: "courier" } } });
  });

  it("refuses missing, malformed, ambiguous and empty input with usage errors", async () => {
    const f = await files({ "bad.json": "{ nope", "list.json": "[1]", "odd.json": JSON.stringify({ name: "x" }), "bare.json": JSON.stringify(bare), "mismatch.json": JSON.stringify({ contracts: { a: { id: "b", parties: [], grants: [] } } }) });
    const fails = async (opts: Record<string, unknown>, re: RegExp) => {
      const err = await changeFromOptions(opts as never).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(re);
    };
    await fails({ contract: [f("missing.json")] }, /cannot read contract file .*missing\.json \(ENOENT\)/);
    await fails({ contract: [f("bad.json")] }, /is not JSON/);
    await fails({ contract: [f("list.json")] }, /must hold a JSON object/);
    await fails({ contract: [f("odd.json")] }, /neither a contract/);
    await fails({ contract: [f("mismatch.json")] }, /contracts\.a has id 'b'/);
    await fails({ contract: [f("bare.json")], "remove-contract": ["jd--zto"] }, /contract jd--zto is given twice/);
    await fails({ rego: ["lib/x.rego=" + f("bare.json")] }, /must be router\/<name>\.rego/);
    await fails({ rego: ["router/x.rego="] }, /no file after '='/);
    await fails({}, /no change given/);
  });

  it("contractsOfFile accepts both shapes", () => {
    expect(Object.keys(contractsOfFile({ contracts: { a: { parties: [], grants: [] }, b: { id: "b", parties: [], grants: [] } } }, "f"))).toEqual(["a", "b"]);
    expect(contractsOfFile(bare, "f")).toEqual({ "jd--zto": bare });
  });
});
