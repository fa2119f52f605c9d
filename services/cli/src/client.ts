/**
 * A thin client of the policy service's HTTP API, typed by its operations (services/policy/src/api.ts).
 * Every failure becomes a CliError whose exit code says what kind of failure it was (see exit.ts); a refusal
 * by the service is an ApiError with the service's status, code, message, details and hint.
 */
import { API_ROUTES, apiPath, type ApiErrorCode, type ApiResponses, type ErrorResponse, type Operation, type PathParams, type PolicyErrorCode, type RequestOf } from "@parcel-exchange/policy-api";
import { CliError, EXIT, type FailureExitCode } from "./exit.js";

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

/** The exit code for an HTTP status from the policy service (when its answer names no known code). */
export function exitCodeOfStatus(status: number): FailureExitCode {
  if (status === 400) return EXIT.usage;
  if (status === 401 || status === 403) return EXIT.forbidden;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status === 422) return EXIT.rejected;
  return EXIT.failed;
}

/** The exit code for each code of the policy service. */
export const EXIT_OF_POLICY_CODE: { readonly [C in PolicyErrorCode]: FailureExitCode } = {
  UNAUTHENTICATED: EXIT.forbidden,
  FORBIDDEN: EXIT.forbidden,
  REQUEST_INVALID: EXIT.usage,
  ROUTE_NOT_FOUND: EXIT.failed, // px and the service disagree about the API: not "no such proposal"
  NOT_FOUND: EXIT.notFound,
  CONFLICT: EXIT.conflict,
  CHANGE_REJECTED: EXIT.rejected,
  INTERNAL: EXIT.failed,
};

/** The exit code for an error answer: by its code when px knows it, else by its status. */
export function exitCodeOfAnswer(status: number, code: string | undefined): FailureExitCode {
  if (code !== undefined && Object.hasOwn(EXIT_OF_POLICY_CODE, code)) return EXIT_OF_POLICY_CODE[code as PolicyErrorCode];
  if (code === "DEPENDENCY_FAILED") return EXIT.unreachable;
  return exitCodeOfStatus(status);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Readable lines for the `details` of an error response (compiler output, test failures, floor breaches, problems). */
export function detailLines(details: unknown): string[] {
  if (details === undefined || details === null) return [];
  if (typeof details === "string") return details.split("\n");
  if (Array.isArray(details)) return details.map((d) => (typeof d === "string" ? d : JSON.stringify(d)));
  if (!isObj(details)) return [String(details)];
  const out: string[] = [];
  if (typeof details.compiler === "string") out.push("compiler:", ...details.compiler.split("\n").map((l) => `  ${l}`));
  if (isObj(details.tests)) {
    const t = details.tests;
    out.push(`tests: ${String(t.passed ?? "?")} passed, ${String(t.failed ?? "?")} failed${typeof t.coverage === "number" ? `, coverage ${t.coverage.toFixed(1)}%` : ""}`);
    if (Array.isArray(t.failures)) out.push(...t.failures.map((f) => `  FAIL ${String(f)}`));
  }
  if (Array.isArray(details.floorViolations)) out.push("floor violations:", ...details.floorViolations.map((v) => `  ${String(v)}`));
  const known = new Set(["compiler", "tests", "floorViolations"]);
  for (const [k, v] of Object.entries(details)) if (!known.has(k) && v !== undefined) out.push(`${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  return out;
}

/** The policy service answered with an error. */
export class ApiError extends CliError {
  readonly status: number;
  /** The service's error code, when it sent one. */
  readonly serviceCode: ApiErrorCode | undefined;
  readonly hint: string | undefined;
  constructor(what: string, status: number, answer: Partial<ErrorResponse>, fallbackMessage: string) {
    const code = typeof answer.code === "string" ? answer.code : undefined;
    const message = typeof answer.error === "string" ? answer.error : fallbackMessage;
    const hint = typeof answer.hint === "string" ? answer.hint : undefined;
    super(exitCodeOfAnswer(status, code), `${what} → ${status}${code ? ` ${code}` : ""}: ${message}`, [...detailLines(answer.details), ...(hint ? [`hint: ${hint}`] : [])]);
    this.status = status;
    this.serviceCode = code;
    this.hint = hint;
  }
}

type ParamsArg<O extends Operation> = keyof PathParams<O> extends never ? { readonly params?: undefined } : { readonly params: PathParams<O> };
type BodyArg<O extends Operation> = RequestOf<O> extends undefined ? { readonly body?: undefined } : { readonly body: RequestOf<O> };
/** Path parameters and body of a call, each required exactly when the operation has them. */
export type CallArgs<O extends Operation> = ParamsArg<O> & BodyArg<O>;

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    private readonly fetchImpl: FetchLike = fetch as unknown as FetchLike,
  ) {}

  /** Calls an operation of the API and returns its answer (text for the JSON-lines export, else parsed JSON). */
  async call<O extends Operation>(op: O, ...[args]: {} extends CallArgs<O> ? [CallArgs<O>?] : [CallArgs<O>]): Promise<ApiResponses[O]> {
    const route = API_ROUTES[op];
    const a = (args ?? {}) as { params?: PathParams<O>; body?: unknown };
    const path = apiPath(op, a.params ?? ({} as PathParams<O>));
    const text = await this.send(route.method, path, a.body);
    if ("contentType" in route) return text as ApiResponses[O];
    try {
      return JSON.parse(text) as ApiResponses[O];
    } catch {
      throw new CliError(EXIT.failed, `${route.method} ${path}: the service answered with something that is not JSON`, [text.slice(0, 200)]);
    }
  }

  private async send(method: string, path: string, body?: unknown): Promise<string> {
    if (this.apiKey === undefined) throw new CliError(EXIT.forbidden, "no API key: pass --key <key> or set PX_API_KEY");
    const url = `${this.baseUrl.replace(/\/+$/, "")}${path}`;
    let res: { status: number; text(): Promise<string> };
    let text: string;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers: { authorization: `Bearer ${this.apiKey}`, accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      text = await res.text();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(EXIT.unreachable, `cannot reach the policy service at ${this.baseUrl} (${why}); check --api or PX_POLICY_URL and that the service is running`, [], { cause: err });
    }
    if (res.status >= 200 && res.status < 300) return text;
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
    throw new ApiError(`${method} ${path}`, res.status, isObj(payload) ? (payload as Partial<ErrorResponse>) : {}, text.trim().slice(0, 200) || "no message");
  }
}
