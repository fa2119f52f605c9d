/**
 * A thin client of the policy service's HTTP API. Every failure becomes a CliError whose exit code says what
 * kind of failure it was (see exit.ts), with the service's message and details.
 */
import { CliError, EXIT, type ExitCode } from "./exit.js";

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

/** The exit code for an HTTP status from the policy service. */
export function exitCodeOfStatus(status: number): ExitCode {
  if (status === 400) return EXIT.usage;
  if (status === 401 || status === 403) return EXIT.forbidden;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status === 422) return EXIT.rejected;
  return EXIT.failed;
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

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    private readonly fetchImpl: FetchLike = fetch as unknown as FetchLike,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  /** GET returning the body as text (e.g. the JSONL export). */
  async getText(path: string): Promise<string> {
    return (await this.send("GET", path)).text;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { text } = await this.send(method, path, body);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(EXIT.failed, `${method} ${path}: the service answered with something that is not JSON`, [text.slice(0, 200)]);
    }
  }

  private async send(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
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
      throw new CliError(EXIT.unreachable, `cannot reach the policy service at ${this.baseUrl} (${why}); check --api or PX_POLICY_URL and that the service is running`);
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, text };
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
    const p = isObj(payload) ? payload : {};
    const message = typeof p.error === "string" ? p.error : text.trim().slice(0, 200) || "no message";
    const code = typeof p.code === "string" ? ` ${p.code}` : "";
    throw new CliError(exitCodeOfStatus(res.status), `${method} ${path} → ${res.status}${code}: ${message}`, detailLines(p.details));
  }
}
