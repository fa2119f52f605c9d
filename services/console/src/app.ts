/**
 * The console's HTTP server: server-rendered pages, forms that post, and a small script that only enhances.
 * Every page and action is the signed-in user's own call to the policy service (policy-client.ts), so the
 * console can show less than the user may see but never let anyone do more than the API lets them.
 *
 * Boundaries: the session is an encrypted, authenticated cookie (session.ts); every POST needs the session's
 * CSRF token and, when the browser says where it comes from, the same origin; pages are sent with a strict
 * Content-Security-Policy (no inline script, nothing from elsewhere) and are never cached.
 */
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Registry } from "prom-client";
import { requireConsoleSessionKey, type Config, type Logger } from "@parcel-exchange/shared";
import { ConsoleError } from "./errors.js";
import { PrometheusClient, liveFlow } from "./live.js";
import type { ConsoleMetrics } from "./metrics.js";
import { PolicyClient } from "./policy-client.js";
import { signInPage } from "./pages/signin.js";
import { matrixPage } from "./pages/matrix.js";
import { proposalPage, proposalsPage } from "./pages/proposals.js";
import { ledgerPage } from "./pages/ledger.js";
import { livePage, liveSection } from "./pages/live.js";
import { page, type Notice, type PageContext } from "./pages/layout.js";
import { html } from "./html.js";
import { cookieValue, SESSION_COOKIE, sessionCookie, SessionSealer, type Session } from "./session.js";

const ASSETS = join(dirname(fileURLToPath(import.meta.url)), "..", "assets");
const ASSET_TYPES: Readonly<Record<string, string>> = { "console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8" };

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Messages after an action succeeded (the redirect names one; no text from the request is reflected). */
const DONE: Readonly<Record<string, string>> = {
  approved: "Approved. The proposal's status below is the policy service's answer.",
  applied: "Applied: the change is in force.",
  rejected: "Rejected: the proposal will not take effect.",
  rolledback: "Rolled back: the version shown is back in force.",
};

export interface ConsoleDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: ConsoleMetrics;
  readonly metricsRegistry: Registry;
  /** The policy service's base URL (default config.policyService.url). */
  readonly policyUrl?: string;
  /** Clock for sessions, replaceable in tests. */
  readonly now?: () => number;
}

type Form = Readonly<Record<string, string>>;

export async function buildConsole(d: ConsoleDeps): Promise<FastifyInstance> {
  const sealer = new SessionSealer(requireConsoleSessionKey(d.config), d.now);
  const policyUrl = d.policyUrl ?? d.config.policyService.url;
  const api = new PolicyClient(policyUrl);
  const prometheusUrl = d.config.console.prometheusUrl;
  const prom = prometheusUrl ? new PrometheusClient(prometheusUrl) : undefined;
  const assets = new Map(Object.keys(ASSET_TYPES).map((f) => [f, readFileSync(join(ASSETS, f))]));

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, trustProxy: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    const out: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(body as string)) out[k] = v;
    done(null, out);
  });

  app.addHook("onSend", async (_req, reply) => {
    reply.header("content-security-policy", CSP);
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("x-frame-options", "DENY");
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
  });
  app.addHook("onResponse", async (req, reply) => {
    d.metrics.requests.inc({ route: req.routeOptions.url ?? "unmatched", status: String(reply.statusCode) });
  });

  const sessionOf = (req: FastifyRequest): Session | undefined => sealer.open(cookieValue(req.headers.cookie, SESSION_COOKIE));
  const ctxOf = (req: FastifyRequest, session: Session | undefined): PageContext => ({ ...(session ? { session, csrf: sealer.csrfToken(session) } : {}), path: new URL(req.url, "http://x").pathname });
  const sendPage = (reply: FastifyReply, status: number, body: string) => reply.code(status).type("text/html; charset=utf-8").send(body);
  const errorNotice = (err: ConsoleError): Notice => ({ kind: "error", text: err.message, hint: err.hint });
  const doneNotice = (q: unknown): Notice | undefined => {
    const k = (q as { done?: unknown }).done;
    return typeof k === "string" && Object.hasOwn(DONE, k) ? { kind: "ok", text: DONE[k]! } : undefined;
  };
  const signInRedirect = (req: FastifyRequest, reply: FastifyReply) => {
    const next = req.method === "GET" ? new URL(req.url, "http://x").pathname : "/matrix";
    return reply.code(303).header("set-cookie", sessionCookie("", { maxAgeMs: 0, secure: d.config.console.secureCookie })).redirect(`/signin?next=${encodeURIComponent(next)}`);
  };

  /** A page for signed-in users; a failure is shown on an error page with its status (signed out → sign in). */
  const view = (render: (req: FastifyRequest, s: Session, ctx: PageContext) => Promise<string | { status: number; body: string }>) => async (req: FastifyRequest, reply: FastifyReply) => {
    const s = sessionOf(req);
    if (!s) return signInRedirect(req, reply);
    const ctx = ctxOf(req, s);
    try {
      const out = await render(req, s, ctx);
      return typeof out === "string" ? sendPage(reply, 200, out) : sendPage(reply, out.status, out.body);
    } catch (err) {
      const e = asConsoleError(err, d.log);
      if (e.code === "SIGNED_OUT") return signInRedirect(req, reply);
      return sendPage(reply, e.status, page(ctx, "Something went wrong", html`<p><a href="/matrix">Back to the console</a></p>`, { notice: errorNotice(e) }));
    }
  };

  /** A form action: session, CSRF token and origin checked, then the user's own call; success redirects (303), failure re-renders with the policy service's status. */
  const action = (name: string, run: (req: FastifyRequest, s: Session, form: Form) => Promise<string>, onError: (req: FastifyRequest, s: Session, ctx: PageContext, e: ConsoleError) => Promise<string>) => async (req: FastifyRequest, reply: FastifyReply) => {
    const s = sessionOf(req);
    if (!s) return signInRedirect(req, reply);
    const ctx = ctxOf(req, s);
    const form = (req.body ?? {}) as Form;
    try {
      if (!sameOrigin(req)) throw new ConsoleError("CSRF", "the form was sent from another site");
      if (!sealer.csrfValid(s, form._csrf)) throw new ConsoleError("CSRF", "the form's token does not belong to this session");
      const to = await run(req, s, form);
      d.metrics.actions.inc({ action: name, result: "ok" });
      d.log.info({ user: s.id, action: name }, "console action");
      return reply.code(303).redirect(to);
    } catch (err) {
      const e = asConsoleError(err, d.log);
      d.metrics.actions.inc({ action: name, result: e.code.toLowerCase() });
      d.log.info({ user: s.id, action: name, code: e.code, status: e.status }, "console action refused");
      if (e.code === "SIGNED_OUT") return signInRedirect(req, reply);
      let body: string;
      try {
        body = await onError(req, s, ctx, e);
      } catch {
        body = page(ctx, "Not done", html`<p><a href="/matrix">Back to the console</a></p>`, { notice: errorNotice(e) });
      }
      return sendPage(reply, e.status, body);
    }
  };

  // ------------------------------------------------------------------ open routes
  app.get("/healthz", async (_req, reply) => {
    const ok = await fetch(`${policyUrl.replace(/\/+$/, "")}/healthz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    return reply.code(ok ? 200 : 503).send({ ok, policyService: ok ? "reachable" : "unreachable", prometheus: prometheusUrl ?? null });
  });
  app.get("/metrics", async (_req, reply) => reply.type(d.metricsRegistry.contentType).send(await d.metricsRegistry.metrics()));
  app.get<{ Params: { file: string } }>("/assets/:file", async (req, reply) => {
    const f = assets.get(req.params.file);
    if (!f) return reply.code(404).type("text/plain").send("not found");
    return reply.type(ASSET_TYPES[req.params.file]!).header("cache-control", "public, max-age=300").send(f);
  });
  app.get("/", async (req, reply) => reply.code(303).redirect(sessionOf(req) ? "/matrix" : "/signin"));

  app.get("/signin", async (req, reply) => sendPage(reply, 200, signInPage(ctxOf(req, undefined), { next: safeNext((req.query as { next?: unknown }).next) })));
  app.post("/signin", async (req, reply) => {
    const form = (req.body ?? {}) as Form;
    const key = (form.key ?? "").trim();
    const next = safeNext(form.next);
    if (!sameOrigin(req)) return sendPage(reply, 403, signInPage(ctxOf(req, undefined), { next, notice: { kind: "error", text: "The sign-in form was sent from another site." } }));
    if (key === "" || key.length > 512) return sendPage(reply, 400, signInPage(ctxOf(req, undefined), { next, notice: { kind: "error", text: "Enter your API key." } }));
    try {
      const who = await api.call(key, "whoami");
      if (who.role === "gateway") throw new ConsoleError("FORBIDDEN", "the gateway's service key does not sign in to the console");
      const session = sealer.create({ key, id: who.id, role: who.role, ...(who.party ? { party: who.party } : {}) }, d.config.console.sessionTtlMs);
      d.metrics.signIns.inc({ result: "ok" });
      d.log.info({ user: who.id, role: who.role }, "console sign-in");
      return reply.code(303).header("set-cookie", sessionCookie(sealer.seal(session), { maxAgeMs: d.config.console.sessionTtlMs, secure: d.config.console.secureCookie })).redirect(next);
    } catch (err) {
      const e = asConsoleError(err, d.log);
      const refused = e.code === "SIGNED_OUT" || e.code === "FORBIDDEN";
      d.metrics.signIns.inc({ result: refused ? "refused" : "unavailable" });
      const shown = refused ? new ConsoleError("SIGN_IN_FAILED", "That key was not accepted.") : e;
      return sendPage(reply, shown.status, signInPage(ctxOf(req, undefined), { next, notice: errorNotice(shown) }));
    }
  });
  app.post("/signout", async (_req, reply) => reply.code(303).header("set-cookie", sessionCookie("", { maxAgeMs: 0, secure: d.config.console.secureCookie })).redirect("/signin"));

  // ------------------------------------------------------------------ pages
  const matrixOf = async (s: Session, version: string | undefined) => {
    const v = version ?? (await api.call(s.key, "currentVersion")).version;
    const [m, history] = await Promise.all([api.call(s.key, "matrix", { params: { version: v } }), api.call(s.key, "history")]);
    return { m, history };
  };
  app.get(
    "/matrix",
    view(async (req, s, ctx) => {
      const q = req.query as { version?: unknown };
      const { m, history } = await matrixOf(s, typeof q.version === "string" && q.version !== "" ? q.version : undefined);
      const n = doneNotice(req.query);
      return matrixPage(ctx, m, history, n ? { notice: n } : {});
    }),
  );
  app.post(
    "/rollback",
    action(
      "rollback",
      async (_req, s, form) => {
        const version = form.version ?? "";
        if (version === "") throw new ConsoleError("REQUEST_INVALID", "say which version to put back in force");
        await api.call(s.key, "rollback", { body: { version } });
        return `/matrix?done=rolledback`;
      },
      async (_req, s, ctx, e) => {
        const { m, history } = await matrixOf(s, undefined);
        return matrixPage(ctx, m, history, { notice: errorNotice(e) });
      },
    ),
  );

  app.get(
    "/proposals",
    view(async (req, s, ctx) => {
      // The policy service lists for a party only the proposals it may read (its contracts', and its own).
      const list = await api.call(s.key, "listProposals");
      const n = doneNotice(req.query);
      return proposalsPage(ctx, list, n ? { notice: n } : {});
    }),
  );
  // Another party's proposal is 404 from the policy service, answered as such.
  const proposalFor = (s: Session, id: string) => api.call(s.key, "getProposal", { params: { id } });
  app.get<{ Params: { id: string } }>(
    "/proposals/:id",
    view(async (req, s, ctx) => {
      const p = await proposalFor(s, (req.params as { id: string }).id);
      const n = doneNotice(req.query);
      return proposalPage(ctx, p, n ? { notice: n } : {});
    }),
  );
  const proposalAction = (name: "approve" | "apply" | "reject", done: string, run: (s: Session, id: string, form: Form) => Promise<unknown>) =>
    action(
      name,
      async (req, s, form) => {
        const id = (req.params as { id: string }).id;
        await run(s, id, form);
        return `/proposals/${encodeURIComponent(id)}?done=${done}`;
      },
      async (req, s, ctx, e) => proposalPage(ctx, await proposalFor(s, (req.params as { id: string }).id), { notice: errorNotice(e) }),
    );
  app.post(
    "/proposals/:id/approve",
    proposalAction("approve", "approved", (s, id, form) => api.call(s.key, "approve", { params: { id }, body: form.immediate === "true" ? { immediate: true } : {} })),
  );
  app.post("/proposals/:id/apply", proposalAction("apply", "applied", (s, id) => api.call(s.key, "apply", { params: { id } })));
  app.post(
    "/proposals/:id/reject",
    proposalAction("reject", "rejected", (s, id, form) => {
      const reason = (form.reason ?? "").trim();
      if (reason === "") throw new ConsoleError("REQUEST_INVALID", "give a reason for rejecting (it is recorded in the ledger and shown to every side)");
      return api.call(s.key, "reject", { params: { id }, body: { reason } });
    }),
  );

  app.get(
    "/ledger",
    view(async (req, s, ctx) => {
      const n = doneNotice(req.query);
      return ledgerPage(ctx, await api.call(s.key, "ledgerVerify"), n ? { notice: n } : {});
    }),
  );

  const flowFor = async (s: Session) => {
    // Prometheus is the operator's: the console asks the policy service who the user is on every refresh, so a revoked key sees nothing.
    await api.call(s.key, "whoami");
    return prom ? liveFlow(await prom.all(), s.role === "party" ? s.party : undefined) : undefined;
  };
  app.get(
    "/live",
    view(async (_req, s, ctx) => {
      try {
        return livePage(ctx, await flowFor(s), prometheusUrl ? { prometheusUrl } : {});
      } catch (err) {
        const e = asConsoleError(err, d.log);
        if (e.code !== "UNAVAILABLE") throw e;
        return { status: 503, body: livePage(ctx, undefined, { notice: errorNotice(e) }) };
      }
    }),
  );
  app.get("/live/data", async (req, reply) => {
    const s = sessionOf(req);
    if (!s) return reply.code(401).type("text/plain").send("signed out");
    try {
      const f = await flowFor(s);
      return f ? sendPage(reply, 200, liveSection(f).value) : reply.code(503).type("text/plain").send("no Prometheus configured");
    } catch (err) {
      const e = asConsoleError(err, d.log);
      return reply.code(e.status).type("text/plain").send(e.message);
    }
  });

  app.setNotFoundHandler((req, reply) => sendPage(reply, 404, page(ctxOf(req, sessionOf(req)), "Not found", html`<p><a href="/matrix">Back to the console</a></p>`)));
  app.setErrorHandler((err, req, reply) => {
    const e = asConsoleError(err, d.log);
    return sendPage(reply, e.status, page(ctxOf(req, sessionOf(req)), "Something went wrong", html``, { notice: errorNotice(e) }));
  });
  return app;
}

/** Only a path of this console (never another host, `//host` or a scheme). */
function safeNext(v: unknown): string {
  return typeof v === "string" && /^\/[A-Za-z0-9/_.?=&%-]*$/.test(v) && !v.startsWith("//") ? v : "/matrix";
}

/** A browser that says where the form comes from must say it comes from here. */
function sameOrigin(req: FastifyRequest): boolean {
  const site = req.headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none") return false;
  const origin = req.headers.origin;
  if (typeof origin === "string" && origin !== "null") {
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }
  return true;
}

function asConsoleError(err: unknown, log: Logger): ConsoleError {
  if (err instanceof ConsoleError) return err;
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) return new ConsoleError("REQUEST_INVALID", (err as Error).message);
  log.error({ err }, "console failed");
  return new ConsoleError("INTERNAL", "the console failed to answer");
}
