/** `px` without the process: parse, run the command, turn any failure into a message and an exit code. */
import { ConfigError, DependencyError, loadConfig, PxError, type Config } from "@parcel-exchange/shared";
import { apiKeyOf, helpText, parseArgs } from "./args.js";
import { ApiClient } from "./client.js";
import { handlerFor, type Context, type Io } from "./commands.js";
import { CliError, EXIT, UsageError, type ExitCode } from "./exit.js";

export interface MainIo extends Io {
  err(text: string): void;
}

/** The exit code and message for an error a command threw. */
export function describeFailure(err: unknown): { code: ExitCode; message: string; details: readonly string[] } {
  if (err instanceof CliError) return { code: err.exitCode, message: err.message, details: err.details };
  if (err instanceof ConfigError) return { code: EXIT.usage, message: `invalid setting: ${err.message}`, details: [] };
  if (err instanceof DependencyError) return { code: EXIT.unreachable, message: err.message, details: [] };
  const name = (err as Error | undefined)?.name ?? "";
  if (/^KafkaJS(Connection|NumberOfRetriesExceeded|BrokerNotFound|Request)/.test(name)) return { code: EXIT.unreachable, message: `kafka: ${(err as Error).message}`, details: [] };
  if (err instanceof PxError && err.code === "PARTY_INVALID") return { code: EXIT.usage, message: err.message, details: [] };
  if (err instanceof PxError) return { code: EXIT.failed, message: `${err.code}: ${err.message}`, details: [] };
  return { code: EXIT.failed, message: err instanceof Error ? err.message : String(err), details: [] };
}

/**
 * Runs px with `argv` (after the script name). `env` is consulted for PX_API_KEY only; every other setting
 * comes from loadConfig() when a command needs it.
 */
export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: MainIo): Promise<ExitCode> {
  let topic = "";
  try {
    const parsed = parseArgs(argv);
    if (parsed.kind === "help") {
      io.out(helpText(parsed.topic));
      return EXIT.ok;
    }
    topic = parsed.command.id;
    let config: Config | undefined;
    let api: ApiClient | undefined;
    const ctx: Context = {
      io,
      args: parsed.args,
      options: parsed.options,
      config: () => (config ??= loadConfig()),
      api: () => {
        if (api === undefined) {
          const given = parsed.options.api;
          let base = typeof given === "string" ? given : ctx.config().policyService.url;
          if (!/^https?:\/\/[^/]/.test(base)) throw new UsageError(`--api must be an http(s) URL, not '${base}'`, parsed.command.id);
          base = base.replace(/\/+$/, "");
          api = new ApiClient(base, apiKeyOf(parsed.options, env));
        }
        return api;
      },
    };
    return await handlerFor(parsed.command)(ctx);
  } catch (err) {
    const f = describeFailure(err);
    io.err(`px: ${f.message}\n${f.details.map((d) => `  ${d}\n`).join("")}`);
    if (err instanceof UsageError) {
      const about = err.helpFor ?? topic;
      io.err(`Run 'px ${about ? `${about} ` : ""}--help' for usage.\n`);
    }
    return f.code;
  }
}
