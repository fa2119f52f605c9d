/**
 * HTTP API of the policy service: the routes of api.ts, each authenticated, its roles checked (the route
 * table names them), its body checked (requests.ts) and handed to the service; every error answered through
 * the registry of http-errors.ts. See openapi.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Counter, type Registry } from "prom-client";
import type { Logger } from "@parcel-exchange/shared";
import { API_ROUTES, type ApiResponses, type Operation, type PathParams, type Role } from "./api.js";
import { authorizePropose, type ContractsInForce } from "./authz.js";
import { AuthError, ForbiddenError, RequestInvalidError, RouteNotFoundError } from "./errors.js";
import { errorResponse } from "./http-errors.js";
import { OPENAPI } from "./openapi.js";
import { parseApproveRequest, parseEvaluateRequest, parseNoBody, parseProposeRequest, parseRejectRequest, parseRollbackRequest } from "./requests.js";
import type { PolicyService } from "./service.js";
import { parseCreateWebhookRequest, parseDisableWebhookRequest, type WebhookRules } from "./webhook-requests.js";
import type { User, Users } from "./users.js";

const MAX_BODY = 2 * 1024 * 1024;

type Body = Readonly<Record<string, unknown>>;

interface Ctx<O extends Operation> {
  readonly user: User;
  readonly body: Body;
  readonly params: PathParams<O>;
}

type Handlers = { readonly [O in Operation]: (ctx: Ctx<O>) => Promise<ApiResponses[O]> };

async function readBody(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new RequestInvalidError("the request body", [`it is over ${MAX_BODY} bytes`]);
    chunks.push(c);
  }
  if (size === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    throw new RequestInvalidError("the request body", [`it is not JSON (${(err as Error).message})`]);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new RequestInvalidError("the request body", ["it must be a JSON object"]);
  return v as Body;
}

function handlers(service: PolicyService, rules: WebhookRules): Handlers {
  return {
    currentVersion: async () => ({ version: service.currentVersion() }),
    history: () => service.history(),
    evaluate: async ({ user, body }) => {
      const { change } = parseEvaluateRequest(body);
      // A party may evaluate only what it may propose: running submitted Rego is not for anyone else.
      authorizePropose(user, change, service.bundle(service.currentVersion()).data.contracts as ContractsInForce);
      const ev = await service.evaluate(change);
      return { proposedVersion: ev.bundle.version, tests: ev.tests, impact: ev.impact, dryRun: ev.dryRun };
    },
    listProposals: async ({ user }) => service.visibleProposals(user),
    propose: async ({ user, body }) => {
      const r = parseProposeRequest(body);
      return service.propose(user, r.change, r.description);
    },
    getProposal: async ({ user, params }) => service.proposalFor(user, params.id),
    approve: async ({ user, body, params }) => service.approve(user, params.id, parseApproveRequest(body).immediate === true),
    apply: async ({ user, body, params }) => {
      parseNoBody(body);
      return service.apply(user, params.id);
    },
    rollback: async ({ user, body }) => ({ version: await service.rollback(user, parseRollbackRequest(body).version) }),
    listWebhooks: async ({ user }) => service.listWebhooks(user),
    createWebhook: async ({ user, body }) => service.createWebhook(user, parseCreateWebhookRequest(body, rules)),
    rotateWebhookSecret: async ({ user, body, params }) => {
      parseNoBody(body);
      return service.rotateWebhookSecret(user, params.id);
    },
    disableWebhook: async ({ user, body, params }) => service.disableWebhook(user, params.id, parseDisableWebhookRequest(body).reason),
    enableWebhook: async ({ user, body, params }) => {
      parseNoBody(body);
      return service.enableWebhook(user, params.id);
    },
    webhookTargets: async () => service.webhookTargets(),
    whoami: async ({ user }) => ({ id: user.id, role: user.role, ...(user.party ? { party: user.party } : {}) }),
    matrix: ({ user, params }) => service.matrix(user, params.version),
    reject: async ({ user, body, params }) => service.reject(user, params.id, parseRejectRequest(body).reason.trim()),
    ledgerVerify: () => service.ledgerCheck(),
    ledger: () => service.ledgerEntries(),
    ledgerExport: async () => (await service.ledgerEntries()).map((e) => JSON.stringify(e)).join("\n") + "\n",
  };
}

interface Route {
  readonly op: Operation;
  readonly pattern: RegExp;
}

const ROUTES: readonly Route[] = (Object.keys(API_ROUTES) as Operation[]).map((op) => ({
  op,
  // A parameter is one path segment: ids, and versions such as v2+3f9c0a1b (sent percent-encoded, decoded below).
  pattern: new RegExp(`^${API_ROUTES[op].path.replace(/\{(\w+)\}/g, "(?<$1>[\\w.%+-]+)")}$`),
}));

/** Path parameters percent-decoded; one that does not decode, or decodes to a '/', is a malformed request. */
function decodeParams(groups: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(groups)) {
    let d: string;
    try {
      d = decodeURIComponent(v);
    } catch {
      throw new RequestInvalidError(`the path parameter '${k}'`, ["it is not valid percent-encoding"]);
    }
    if (d.includes("/")) throw new RequestInvalidError(`the path parameter '${k}'`, ["it may not contain '/'"]);
    out[k] = d;
  }
  return out;
}

/** The route table's roles (api.ts), checked before anything else of the request is read. */
function authorizeRoute(user: User, op: Operation): void {
  const roles: readonly Role[] = API_ROUTES[op].roles;
  if (!roles.includes(user.role)) throw new ForbiddenError(`${user.id} is a ${user.role}; ${API_ROUTES[op].method} ${API_ROUTES[op].path} is for ${roles.join(" and ")} users only`);
}

/** `rules`: what webhook endpoint URLs may be (the deployment's `webhooks` settings; by default HTTPS to public addresses only). */
export function policyApi(service: PolicyService, users: Users, log: Logger, registry: Registry, rules: WebhookRules = { allowHttp: false, allowPrivate: false }): Server {
  const requests = new Counter({ name: "px_policy_requests_total", help: "Policy API requests", labelNames: ["route", "status"], registers: [registry] });
  const handle = handlers(service, rules) as Readonly<Record<Operation, (ctx: Ctx<Operation>) => Promise<unknown>>>;

  const send = (res: ServerResponse, status: number, body: unknown, type = "application/json") => {
    res.writeHead(status, { "content-type": type });
    res.end(typeof body === "string" && type !== "application/json" ? body : JSON.stringify(body));
  };

  return createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    void (async () => {
      if (req.method === "GET" && path === "/healthz") return send(res, 200, { ok: true });
      if (req.method === "GET" && path === "/openapi.json") return send(res, 200, OPENAPI);
      if (req.method === "GET" && path === "/metrics") return send(res, 200, await registry.metrics(), registry.contentType);
      const route = ROUTES.find((r) => API_ROUTES[r.op].method === req.method && r.pattern.test(path));
      const spec = route ? API_ROUTES[route.op] : undefined;
      const routeName = spec ? `${spec.method} ${spec.path}` : "unmatched";
      let status = 500;
      let user: User | undefined;
      try {
        if (!route || !spec) throw new RouteNotFoundError(req.method ?? "?", path);
        user = users.authenticate(req.headers.authorization);
        authorizeRoute(user, route.op);
        const body = req.method === "POST" ? await readBody(req) : {};
        const params = decodeParams(route.pattern.exec(path)?.groups ?? {}) as PathParams<Operation>;
        const out = await handle[route.op]({ user, body, params });
        status = spec.status;
        log.info({ user: user.id, method: req.method, path, status }, "policy api");
        return "contentType" in spec ? send(res, status, out, spec.contentType) : send(res, status, out);
      } catch (err) {
        const r = errorResponse(err);
        status = r.status;
        if (err instanceof AuthError) log.warn({ method: req.method, path, status, reason: err.message }, "policy api refused");
        else if (status >= 500) log.error({ err, user: user?.id, method: req.method, path, status }, "policy api failed");
        else log.info({ user: user?.id, method: req.method, path, status, code: r.body.code }, "policy api");
        return send(res, status, r.body);
      } finally {
        requests.inc({ route: routeName, status: String(status) });
      }
    })();
  });
}
