/**
 * One webhook delivery attempt. The schedule (schedule.ts) decides when; this decides how, safely:
 *
 * - the URL is checked and the name resolved through `pinnedLookup`, so the socket only ever connects to an
 *   address the SSRF guard accepted (address.ts);
 * - redirects are never followed (a 3xx is a failed attempt, retried): following one would let a receiver
 *   bounce the gateway to an internal address after the check;
 * - one hard timeout covers resolving, connecting, sending and reading the response, so a receiver that
 *   trickles bytes cannot hold a delivery slot;
 * - at most 64 KiB of the response body is read (and discarded): the gateway needs only the status;
 * - error texts name the failure, never payload values.
 *
 * It never throws: every outcome, including a refused endpoint, is an AttemptResult.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { performance } from "node:perf_hooks";
import { checkEndpointUrl, EndpointRefusedError, pinnedLookup, type EndpointRules, type Resolver } from "./address.js";
import { classifyResponse, parseRetryAfter, type ResponseClass } from "./schedule.js";

/**
 * Shared keep-alive agents: deliveries to one receiver reuse connections instead of a TLS handshake each.
 * Pooled sockets are keyed by host and port, not by EndpointRules: a process uses one set of rules.
 */
export const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
export const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 });

/** The most of a response body that is read before the connection is dropped. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendRequest {
  url: string;
  headers: Readonly<Record<string, string>>;
  body: string;
  timeoutMs: number;
  rules: EndpointRules;
  /** Name resolution for the pinned lookup; dns.lookup by default (tests inject one). */
  resolver?: Resolver;
}

export interface AttemptResult {
  outcome: ResponseClass;
  status?: number;
  /** From the response's Retry-After, when it had a readable one. */
  retryAfterMs?: number;
  /** Why the attempt failed without a status, or why the endpoint is refused. */
  error?: string;
  durationMs: number;
}

/** POST `body` to `url` once. Resolves (never rejects) within about `timeoutMs`. */
export function sendWebhook(req: SendRequest): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let url: URL;
  try {
    url = checkEndpointUrl(req.url, req.rules);
  } catch (err) {
    return Promise.resolve({ outcome: "disable", error: (err as Error).message, durationMs: elapsed() });
  }
  const https = url.protocol === "https:";
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const settle = (r: Omit<AttemptResult, "durationMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, durationMs: elapsed() });
    };
    const onError = (err: unknown) => {
      if (err instanceof EndpointRefusedError) settle({ outcome: "disable", error: err.message });
      else settle({ outcome: "retry", error: describe(err) });
    };
    const send = https ? httpsRequest : httpRequest;
    const r = send(url, {
      method: "POST",
      agent: https ? httpsAgent : httpAgent,
      lookup: pinnedLookup(req.rules, req.resolver),
      headers: { "user-agent": "ParcelExchange-Webhooks/1", ...req.headers, "content-length": String(Buffer.byteLength(req.body)) },
    });
    const timer = setTimeout(() => {
      settle({ outcome: "retry", error: `timed out after ${req.timeoutMs} ms` });
      r.destroy();
    }, req.timeoutMs);
    r.on("error", onError);
    r.on("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const retryAfterMs = parseRetryAfter(header(res, "retry-after"), Date.now());
      const done = () => settle({ outcome: classifyResponse(status), status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
      let read = 0;
      res.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) {
          done();
          res.destroy(); // the rest is not read; the socket is not reused
        }
      });
      res.on("end", done);
      res.on("aborted", done);
      res.on("error", done); // the status was already received; a broken body does not change it
    });
    r.end(req.body);
  });
}

function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** An error's code and message, without anything from the request. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return "request failed";
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
