/** HTTP API of the policy service (see openapi.ts). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Counter, type Registry } from "prom-client";
import { PxError, ValidationError, type Logger } from "../../shared/src/index.js";
import { parseChange } from "./change.js";
import { OPENAPI } from "./openapi.js";
import { ChangeRejectedError, ConflictError, NotFoundError, type PolicyService } from "./service.js";
import { AuthError, type User, type Users } from "./users.js";

const MAX_BODY = 2 * 1024 * 1024;

type Handler = (ctx: { user: User; body: Record<string, unknown>; params: Record<string, string> }) => Promise<[number, unknown] | [number, string, string]>;

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new ValidationError("request", [`body over ${MAX_BODY} bytes`]);
    chunks.push(c);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
    return v as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError("request", [`body is not a JSON object (${(err as Error).message})`]);
  }
}

const str = (body: Record<string, unknown>, key: string): string => {
  const v = body[key];
  if (typeof v !== "string" || v.trim() === "") throw new ValidationError("request", [`'${key}' must be a non-empty string`]);
  return v;
};

export function policyApi(service: PolicyService, users: Users, log: Logger, registry: Registry): Server {
  const requests = new Counter({ name: "px_policy_requests_total", help: "Policy API requests", labelNames: ["route", "status"], registers: [registry] });
  const routes: [string, RegExp, Handler][] = [
    ["GET", /^\/v1\/policy\/current$/, async () => [200, { version: service.currentVersion() }]],
    ["GET", /^\/v1\/policy\/history$/, async () => [200, await service.history()]],
    ["POST", /^\/v1\/policy\/evaluate$/, async ({ body }) => {
      const ev = await service.evaluate(parseChange(body.change));
      return [200, { proposedVersion: ev.bundle.version, tests: ev.tests, impact: ev.impact, dryRun: ev.dryRun }];
    }],
    ["GET", /^\/v1\/proposals$/, async () => [200, service.listProposals()]],
    ["POST", /^\/v1\/proposals$/, async ({ user, body }) => [201, await service.propose(user, parseChange(body.change), str(body, "description"))]],
    ["GET", /^\/v1\/proposals\/(?<id>[\w-]+)$/, async ({ params }) => [200, service.proposal(params.id!)]],
    ["POST", /^\/v1\/proposals\/(?<id>[\w-]+)\/approve$/, async ({ user, body, params }) => [200, await service.approve(user, params.id!, body.immediate === true)]],
    ["POST", /^\/v1\/proposals\/(?<id>[\w-]+)\/apply$/, async ({ user, params }) => [200, await service.apply(user, params.id!)]],
    ["POST", /^\/v1\/policy\/rollback$/, async ({ user, body }) => [200, { version: await service.rollback(user, str(body, "version")) }]],
    ["GET", /^\/v1\/ledger$/, async () => [200, await service.ledgerEntries()]],
    ["GET", /^\/v1\/ledger\/export$/, async () => [200, (await service.ledgerEntries()).map((e) => JSON.stringify(e)).join("\n") + "\n", "application/x-ndjson"]],
  ];

  const send = (res: ServerResponse, status: number, body: unknown, type = "application/json") => {
    res.writeHead(status, { "content-type": type });
    res.end(typeof body === "string" && type !== "application/json" ? body : JSON.stringify(body));
  };

  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    void (async () => {
      if (req.method === "GET" && path === "/healthz") return send(res, 200, { ok: true });
      if (req.method === "GET" && path === "/openapi.json") return send(res, 200, OPENAPI);
      if (req.method === "GET" && path === "/metrics") return send(res, 200, await registry.metrics(), registry.contentType);
      const match = routes.find(([m, re]) => m === req.method && re.test(path));
      const routeName = match ? `${match[0]} ${match[1].source}` : "unmatched";
      let status = 500;
      try {
        if (!match) {
          status = 404;
          return send(res, 404, { error: `no route ${req.method} ${path}`, code: "NOT_FOUND" });
        }
        const user = users.authenticate(req.headers.authorization);
        const body = req.method === "POST" ? await readBody(req) : {};
        const params = (match[1].exec(path)?.groups ?? {}) as Record<string, string>;
        const out = await match[2]({ user, body, params });
        status = out[0];
        log.info({ user: user.id, method: req.method, path, status }, "policy api");
        return out.length === 3 ? send(res, out[0], out[1], out[2]) : send(res, out[0], out[1]);
      } catch (err) {
        status = err instanceof AuthError ? err.status : err instanceof ValidationError ? 400 : err instanceof ChangeRejectedError ? 422 : err instanceof NotFoundError ? 404 : err instanceof ConflictError ? 409 : 500;
        if (err instanceof AuthError) log.warn({ method: req.method, path, status, reason: err.message }, "policy api refused");
        else if (status === 500) log.error({ err, method: req.method, path }, "policy api failed");
        const e = err as PxError;
        return send(res, status, { error: e.message, code: e.code ?? "INTERNAL", ...(err instanceof ChangeRejectedError ? { details: err.details } : err instanceof ValidationError ? { details: err.problems } : {}) });
      } finally {
        requests.inc({ route: routeName, status: String(status) });
      }
    })();
  });
}
