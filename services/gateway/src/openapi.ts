/** The gateway's request schemas (used by fastify to validate) and its OpenAPI 3.1 document, built from them. */
import { EVENT_TYPES, type Config } from "@parcel-exchange/shared";
import { GATEWAY_ERRORS, GATEWAY_ERROR_CODES } from "./errors.js";

const eventItem = {
  type: "object",
  required: ["type", "event"],
  additionalProperties: false,
  properties: {
    type: { type: "string", enum: [...EVENT_TYPES] },
    // Checked field by field against the event's Avro schema by the SDK (unknown fields are refused there).
    event: { type: "object" },
  },
} as const;

export function publishBodySchema(maxBatch: number) {
  return {
    oneOf: [
      eventItem,
      { type: "object", required: ["events"], additionalProperties: false, properties: { events: { type: "array", minItems: 1, maxItems: maxBatch, items: eventItem } } },
    ],
  } as const;
}

export const streamQuerySchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    types: { type: "string", description: `Comma-separated event types (default all): ${EVENT_TYPES.join(", ")}` },
    format: { type: "string", enum: ["json", "epcis"], default: "json" },
    from: { type: "string", enum: ["latest", "earliest"], default: "latest", description: "Where a stream without Last-Event-ID starts" },
    lastEventId: { type: "string", description: "The Last-Event-ID header, for clients that cannot set headers" },
  },
} as const;

export const historyParamsSchema = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 200 } },
} as const;

export const historyQuerySchema = {
  type: "object",
  additionalProperties: false,
  properties: { format: { type: "string", enum: ["json", "epcis"], default: "json" } },
} as const;

const errorBody = {
  type: "object",
  required: ["error", "code", "hint", "retriable"],
  properties: { error: { type: "string" }, code: { type: "string", enum: [...GATEWAY_ERROR_CODES] }, hint: { type: "string" }, retriable: { type: "boolean" }, details: {} },
} as const;

const errorsFor = (...codes: (typeof GATEWAY_ERROR_CODES)[number][]) =>
  Object.fromEntries(codes.map((c) => [String(GATEWAY_ERRORS[c].status), { description: `${c}: ${GATEWAY_ERRORS[c].hint}`, content: { "application/json": { schema: errorBody } } }]));

export function gatewayOpenApi(config: Config) {
  return {
    openapi: "3.1.0",
    info: { title: "Parcel Exchange HTTP gateway", version: "1", description: "Publish events over HTTP; receive your deliveries by Standard Webhooks or Server-Sent Events. Authenticate with `Authorization: Bearer <party API key>`." },
    components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer" } }, schemas: { Error: errorBody } },
    security: [{ apiKey: [] }],
    paths: {
      "/v1/events": {
        post: {
          summary: `Publish one event, or up to ${config.gateway.maxBatch} as {events: [...]}, to your own ingress topics`,
          parameters: [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", maxLength: 255 }, description: "A retried request with the same key publishes once and gets the same answer" }],
          requestBody: { required: true, content: { "application/json": { schema: publishBodySchema(config.gateway.maxBatch) } } },
          responses: {
            "202": { description: "Acknowledged by Kafka (acks=all)", content: { "application/json": { schema: { type: "object", properties: { eventIds: { type: "array", items: { type: "string" } }, replayed: { type: "boolean" } } } } } },
            ...errorsFor("REQUEST_INVALID", "UNAUTHENTICATED", "FORBIDDEN", "IDEMPOTENCY_KEY_IN_USE", "BODY_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "IDEMPOTENCY_KEY_REUSED", "RATE_LIMITED", "UNAVAILABLE"),
          },
        },
      },
      "/v1/stream": {
        get: {
          summary: "Your deliveries as Server-Sent Events; each id is a stream position, resume with Last-Event-ID",
          parameters: [
            ...Object.entries(streamQuerySchema.properties).map(([name, schema]) => ({ name, in: "query", required: false, schema })),
            { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } },
          ],
          responses: { "200": { description: "text/event-stream: events named by type, data {type, timestamp, data, policyVersion, sourceEventId, transformed}" }, ...errorsFor("REQUEST_INVALID", "UNAUTHENTICATED", "FORBIDDEN") },
        },
      },
      "/v1/parcels/{id}/events": {
        get: {
          summary: "One parcel's deliveries to you, oldest first, as JSON or as a GS1 EPCIS 2.0 EPCISDocument (format=epcis)",
          parameters: [
            { name: "id", in: "path", required: true, schema: historyParamsSchema.properties.id },
            { name: "format", in: "query", required: false, schema: historyQuerySchema.properties.format },
          ],
          responses: { "200": { description: "{parcelId, events: [...]} or an EPCISDocument" }, ...errorsFor("REQUEST_INVALID", "UNAUTHENTICATED", "FORBIDDEN", "UNAVAILABLE") },
        },
      },
      "/healthz": { get: { security: [], summary: "200 when the gateway can do its job, else 503 with what is wrong", responses: { "200": { description: "ok" }, "503": { description: "not ok" } } } },
      "/metrics": { get: { security: [], summary: "Prometheus metrics (px_gateway_*)", responses: { "200": { description: "text" } } } },
      "/openapi.json": { get: { security: [], summary: "This document", responses: { "200": { description: "OpenAPI 3.1" } } } },
    },
  };
}
