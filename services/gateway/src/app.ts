/**
 * The gateway's HTTP API on fastify: every input schema-validated (unknown fields rejected, nothing coerced),
 * every caller authenticated with its API key (the policy service's users file: SHA-256 hashes only), every
 * error answered through one registry (errors.ts) and counted by code.
 *
 *   POST /v1/events     publish one event or a batch to the caller's own ingress topics (202 once Kafka acked)
 *   GET  /v1/stream     the caller's deliveries as Server-Sent Events, resumable with Last-Event-ID
 *   GET  /v1/parcels/{id}/events   one parcel's deliveries to the caller (JSON, or an EPCIS 2.0 document)
 *   GET  /openapi.json  this API;  GET /healthz, GET /metrics
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Registry } from "prom-client";
import type { Kafka } from "kafkajs";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import type { User, Users } from "@parcel-exchange/policy";
import { EVENT_TYPES, PxError, ValidationError, type Config, type EventType, type Logger } from "@parcel-exchange/shared";
import type { ParcelEventInput } from "@parcel-exchange/sdk";
import { GatewayError, type GatewayErrorCode } from "./errors.js";
import type { HttpIngest } from "./ingest.js";
import type { GatewayMetrics } from "./metrics.js";
import { gatewayOpenApi, historyParamsSchema, historyQuerySchema, publishBodySchema, streamQuerySchema } from "./openapi.js";
import { RateLimiter } from "./rate-limit.js";
import { openStream } from "./stream.js";
import { parcelHistory } from "./history.js";
import { toEpcisDocument } from "./epcis/epcis.js";

export interface AppDeps {
  readonly config: Config;
  readonly users: Users;
  readonly ingest: HttpIngest;
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  readonly metrics: GatewayMetrics;
  readonly metricsRegistry: Registry;
  readonly log: Logger;
  readonly health: () => { ok: boolean; detail: Record<string, unknown> };
}

const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;

declare module "fastify" {
  interface FastifyRequest {
    pxUser?: User;
  }
}

/** The party a request speaks for: a party user's; any other role is refused. */
function partyOf(req: FastifyRequest, deps: AppDeps): string {
  let user: User;
  try {
    user = deps.users.authenticate(req.headers.authorization);
  } catch (err) {
    throw new GatewayError("UNAUTHENTICATED", (err as Error).message);
  }
  req.pxUser = user;
  if (user.role !== "party" || user.party === undefined) throw new GatewayError("FORBIDDEN", `${user.id} has role ${user.role}: publishing and receiving are for parties`);
  return user.party;
}

function errorOf(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof ValidationError) return new GatewayError("EVENTS_INVALID", err.message, err.problems);
  const fe = err as FastifyError & { validation?: { instancePath?: string; message?: string }[] };
  if (fe.validation !== undefined) {
    return new GatewayError("REQUEST_INVALID", `the request is invalid: ${fe.message}`, fe.validation.map((v) => `${v.instancePath || "(body)"} ${v.message ?? ""}`.trim()));
  }
  switch (fe.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new GatewayError("BODY_TOO_LARGE", fe.message);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new GatewayError("UNSUPPORTED_MEDIA_TYPE", fe.message);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new GatewayError("REQUEST_INVALID", `the body is not JSON: ${fe.message}`);
  }
  if (typeof fe.statusCode === "number" && fe.statusCode === 400) return new GatewayError("REQUEST_INVALID", fe.message);
  if (err instanceof PxError && (err as { retriable?: boolean }).retriable) return new GatewayError("UNAVAILABLE", err.message, undefined, 1);
  return new GatewayError("INTERNAL", "an unexpected error; it is logged");
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, metrics } = deps;
  const app = Fastify({
    // Per-request lines are fastify's at info; the gateway counts requests in px_gateway_requests_total instead.
    loggerInstance: deps.log.child({ component: "http" }, { level: "warn" }) as unknown as FastifyBaseLogger,
    bodyLimit: config.gateway.maxBodyBytes,
    // Nothing is coerced or silently dropped: an unknown field is an error, a string is not a number.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: true } },
  });
  // JSON only: fastify's text/plain parser would let a plain body reach the schema check as a string.
  app.removeContentTypeParser(["text/plain"]);
  const limiter = new RateLimiter(config.gateway.ratePerSec, config.gateway.rateBurst);

  app.setErrorHandler((err, req, reply) => {
    const e = errorOf(err);
    if (e.code === "INTERNAL") deps.log.error({ err, route: req.routeOptions.url }, "unexpected error answering a request");
    metrics.rejected.inc({ code: e.code });
    if (e.retryAfterSec !== undefined) void reply.header("retry-after", String(e.retryAfterSec));
    void reply.status(e.status).send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    metrics.rejected.inc({ code: "NOT_FOUND" satisfies GatewayErrorCode });
    void reply.status(404).send(new GatewayError("NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`).body());
  });
  app.addHook("onResponse", async (req, reply) => {
    metrics.requests.inc({ route: req.routeOptions.url ?? "unknown", status: String(reply.statusCode) });
  });

  app.get("/healthz", async (_req, reply) => {
    const h = deps.health();
    return reply.status(h.ok ? 200 : 503).send({ ok: h.ok, ...h.detail });
  });
  app.get("/metrics", async (_req, reply) => reply.type(deps.metricsRegistry.contentType).send(await deps.metricsRegistry.metrics()));
  app.get("/openapi.json", async () => gatewayOpenApi(config));

  app.post("/v1/events", { schema: { body: publishBodySchema(config.gateway.maxBatch) } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const party = partyOf(req, deps);
    const rawKey = req.headers["idempotency-key"];
    const key = Array.isArray(rawKey) ? rawKey[0] : rawKey;
    if (key !== undefined && !IDEMPOTENCY_KEY_RE.test(key)) throw new GatewayError("REQUEST_INVALID", "Idempotency-Key must be 1 to 255 visible ASCII characters");
    const body = req.body as { events?: ParcelEventInput[] } & Partial<ParcelEventInput>;
    const events: ParcelEventInput[] = body.events ?? [{ type: body.type!, event: body.event! } as ParcelEventInput];
    const wait = limiter.take(party, events.length);
    if (wait > 0) throw new GatewayError("RATE_LIMITED", `party ${party} is over its rate of ${config.gateway.ratePerSec} events/s`, undefined, wait);
    const r = await deps.ingest.publish(party, events, key, req.body);
    if (r.replayed) metrics.replayed.inc();
    else metrics.published.inc({ party }, r.eventIds.length);
    if (r.replayed) void reply.header("idempotent-replayed", "true");
    return reply.status(202).send({ eventIds: r.eventIds, replayed: r.replayed });
  });

  app.get("/v1/stream", { schema: { querystring: streamQuerySchema } }, async (req, reply) => {
    const party = partyOf(req, deps);
    const q = req.query as { types?: string; format?: "json" | "epcis"; from?: "latest" | "earliest"; lastEventId?: string };
    const types = q.types === undefined ? [...EVENT_TYPES] : q.types.split(",").map((t) => t.trim());
    const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) throw new GatewayError("REQUEST_INVALID", `types: ${unknown.join(", ")} is not an event type (${EVENT_TYPES.join(", ")})`);
    const header = req.headers["last-event-id"];
    const lastEventId = (Array.isArray(header) ? header[0] : header) ?? q.lastEventId;
    reply.hijack();
    const closed = new Promise<void>((r) => req.raw.once("close", () => r()));
    try {
      await openStream(deps, reply.raw, { party, types: types as EventType[], format: q.format ?? "json", from: q.from ?? "latest", lastEventId }, closed);
    } catch (err) {
      const e = errorOf(err);
      if (!reply.raw.headersSent) reply.raw.writeHead(e.status, { "content-type": "application/json" }).end(JSON.stringify(e.body()));
      else reply.raw.end();
      metrics.rejected.inc({ code: e.code });
      if (e.code === "INTERNAL") deps.log.error({ err }, "the stream failed");
      return;
    }
    reply.raw.end();
  });

  app.get("/v1/parcels/:id/events", { schema: { params: historyParamsSchema, querystring: historyQuerySchema } }, async (req, reply) => {
    const party = partyOf(req, deps);
    const { id } = req.params as { id: string };
    const { format } = req.query as { format?: "json" | "epcis" };
    const events = await parcelHistory(deps, party, id, config.gateway.historyScan);
    if (format === "epcis") {
      return reply.send(toEpcisDocument(events.map((e) => ({ type: e.type as EventType, event: e.data as Record<string, unknown>, policyVersion: e.policyVersion, eventId: e.sourceEventId }))));
    }
    return reply.send({ parcelId: id, events });
  });

  await app.ready();
  return app;
}
