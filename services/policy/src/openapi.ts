/** The OpenAPI document of the policy service, served at GET /openapi.json. */
const change = {
  type: "object",
  additionalProperties: false,
  description: "Contracts (id → contract or null to remove), Rego files (router/<name>.rego → text or null), parties (id → party or null).",
  properties: {
    contracts: { type: "object", additionalProperties: { oneOf: [{ $ref: "#/components/schemas/Contract" }, { type: "null" }] } },
    rego: { type: "object", additionalProperties: { type: ["string", "null"] } },
    parties: { type: "object", additionalProperties: { oneOf: [{ $ref: "#/components/schemas/Party" }, { type: "null" }] } },
  },
};
const error = { type: "object", properties: { error: { type: "string" }, code: { type: "string" }, details: {} }, required: ["error", "code"] };
const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const errors = {
  "400": { description: "The request body is malformed", ...json({ $ref: "#/components/schemas/Error" }) },
  "401": { description: "No or unknown API key", ...json({ $ref: "#/components/schemas/Error" }) },
  "403": { description: "The role may not do this", ...json({ $ref: "#/components/schemas/Error" }) },
};

export const OPENAPI = {
  openapi: "3.1.0",
  info: { title: "Parcel Exchange policy service", version: "1.0.0", description: "Submit, review, approve, publish and roll back data-sharing policies; read the ledger." },
  components: {
    securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "API key; the service keeps only its SHA-256 hash" } },
    schemas: {
      Error: error,
      Change: change,
      Party: { type: "object", properties: { kind: { enum: ["marketplace", "courier", "locker"] }, name: { type: "string" }, network: { type: "string" } }, required: ["kind"] },
      Contract: {
        type: "object",
        required: ["id", "parties", "grants"],
        properties: {
          id: { type: "string" },
          parties: { type: "array", items: { type: "string" }, minItems: 2, maxItems: 2 },
          notice_days: { type: "number", minimum: 0 },
          grants: { type: "array", items: { type: "object", properties: { from: { type: "string" }, to: { type: "string" }, events: { type: "array", items: { type: "string" } }, scope: { enum: ["all", "own_orders", "own_parcels", "own_lockers"] }, classes: { type: "object", additionalProperties: { enum: ["keep", "drop", "mask", "token", "coarsen"] } }, quota: { type: "object" } } } },
        },
      },
      Proposal: { type: "object", description: "A proposed change with its impact, dry run, approvals and status (proposed | scheduled | published | superseded)." },
      Evaluation: { type: "object", description: "Tests, exact impact (reductions, expansions, floor violations) and dry run of a change." },
    },
  },
  security: [{ apiKey: [] }],
  paths: {
    "/v1/policy/current": { get: { summary: "The version in force", responses: { "200": { description: "version", ...json({ type: "object", properties: { version: { type: "string" } } }) }, ...errors } } },
    "/v1/policy/history": { get: { summary: "Published versions and rollbacks with author, time, summary and dry-run result", responses: { "200": { description: "history", ...json({ type: "array" }) }, ...errors } } },
    "/v1/policy/evaluate": { post: { summary: "Compile, test, diff and dry-run a change without proposing it", requestBody: json({ type: "object", required: ["change"], properties: { change: { $ref: "#/components/schemas/Change" } } }), responses: { "200": { description: "evaluation", ...json({ $ref: "#/components/schemas/Evaluation" }) }, "422": { description: "does not compile or tests fail", ...json({ $ref: "#/components/schemas/Error" }) }, ...errors } } },
    "/v1/proposals": {
      get: { summary: "All proposals", responses: { "200": { description: "proposals", ...json({ type: "array", items: { $ref: "#/components/schemas/Proposal" } }) }, ...errors } },
      post: { summary: "Propose a change", requestBody: json({ type: "object", required: ["change", "description"], properties: { change: { $ref: "#/components/schemas/Change" }, description: { type: "string" } } }), responses: { "201": { description: "the proposal", ...json({ $ref: "#/components/schemas/Proposal" }) }, "422": { description: "rejected: compile error, failing tests or floor breach; the policy in force stays", ...json({ $ref: "#/components/schemas/Error" }) }, ...errors } },
    },
    "/v1/proposals/{id}": { get: { summary: "One proposal", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "the proposal", ...json({ $ref: "#/components/schemas/Proposal" }) }, "404": { description: "no such proposal" }, ...errors } } },
    "/v1/proposals/{id}/approve": { post: { summary: "Approve (a regulator may ask for immediate effect)", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], requestBody: json({ type: "object", properties: { immediate: { type: "boolean" } } }), responses: { "200": { description: "the proposal", ...json({ $ref: "#/components/schemas/Proposal" }) }, "409": { description: "already published" }, ...errors } } },
    "/v1/proposals/{id}/apply": { post: { summary: "Regulator: put an approved change into effect now", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "the proposal", ...json({ $ref: "#/components/schemas/Proposal" }) }, ...errors } } },
    "/v1/policy/rollback": { post: { summary: "Regulator: put an earlier version back in force", requestBody: json({ type: "object", required: ["version"], properties: { version: { type: "string" } } }), responses: { "200": { description: "version in force", ...json({ type: "object", properties: { version: { type: "string" } } }) }, "404": { description: "no such version" }, ...errors } } },
    "/v1/ledger": { get: { summary: "Every ledger entry", responses: { "200": { description: "entries", ...json({ type: "array" }) }, ...errors } } },
    "/v1/ledger/export": { get: { summary: "The ledger as JSON lines", responses: { "200": { description: "JSONL", content: { "application/x-ndjson": { schema: { type: "string" } } } }, ...errors } } },
  },
} as const;
