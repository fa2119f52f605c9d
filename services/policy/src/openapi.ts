/**
 * The OpenAPI document of the policy service, served at GET /openapi.json. It is built from api.ts: paths
 * from API_ROUTES (with the roles that may call each, as `x-roles`), error responses from the error registry
 * (http-errors.ts), and every schema checked against the api.ts type it describes (a field added to a type
 * without its schema does not compile).
 */
import { EVENT_TYPES, SHARED_ERROR_CODES } from "@parcel-exchange/shared";
import { LEDGER_ENTRY_TYPES, LEDGER_ERROR_CODES } from "@parcel-exchange/ledger";
import type { LedgerEntry } from "@parcel-exchange/ledger";
import { API_ROUTES, ROLES, type ApiErrorCode, type ApiRequests, type ApiResponses, type Operation } from "./api.js";
import type * as Api from "./api.js";
import { POLICY_ERROR_CODES } from "./errors.js";
import { ERROR_REGISTRY, type ErrorMapping } from "./http-errors.js";

// ------------------------------------------------------------------------------------------- typed schemas

type Json = { readonly [k: string]: unknown };

/** A JSON schema for values of type T; T only serves the type checks. */
interface Schema<T> {
  readonly json: Json;
  readonly _type?: T;
}

/** The schema of an optional property. */
interface Optional<T> {
  readonly optional: Schema<T>;
}

type OptionalKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T];

/** One schema for every property of T: Optional for the optional ones. */
type Props<T> = { readonly [K in keyof T]-?: K extends OptionalKeys<T> ? Optional<Exclude<T[K], undefined>> : Schema<T[K]> };

const schema = <T>(json: Json): Schema<T> => ({ json });
const str = schema<string>({ type: "string" });
const num = schema<number>({ type: "number" });
const bool = schema<boolean>({ type: "boolean" });
const oneOf = <T extends string>(values: readonly T[]): Schema<T> => schema({ enum: values });
const arr = <T>(items: Schema<T>): Schema<T[]> => schema({ type: "array", items: items.json });
const dict = <T>(values: Schema<T>): Schema<Record<string, T>> => schema({ type: "object", additionalProperties: values.json });
const nullable = <T>(s: Schema<T>): Schema<T | null> => schema({ oneOf: [s.json, { type: "null" }] });
const opt = <T>(s: Schema<T>): Optional<T> => ({ optional: s });

function obj<T>(props: Props<T>, extra: Json = {}): Schema<T> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [k, p] of Object.entries(props as Record<string, Schema<unknown> | Optional<unknown>>)) {
    if ("optional" in p) properties[k] = p.optional.json;
    else {
      properties[k] = p.json;
      required.push(k);
    }
  }
  return schema({ type: "object", ...extra, properties, ...(required.length > 0 ? { required } : {}) });
}

/** The named schemas, with the type each describes. */
interface Components {
  Error: Api.ErrorResponse;
  Party: Api.PartyInfo;
  Contract: Api.Contract;
  Change: Api.PolicyChange;
  FieldChange: Api.FieldChange;
  Impact: Api.Impact;
  ProposalImpact: Api.ProposalImpact;
  DryRunLine: Api.DryRunLine;
  DryRunReport: Api.DryRunReport;
  TestSummary: Api.TestSummary;
  Approval: Api.Approval;
  Proposal: Api.Proposal;
  HistoryItem: Api.HistoryItem;
  Evaluation: Api.EvaluateResponse;
  Version: Api.VersionResponse;
  LedgerEntry: LedgerEntry;
  EvaluateRequest: Api.EvaluateRequest;
  ProposeRequest: Api.ProposeRequest;
  ApproveRequest: Api.ApproveRequest;
  RollbackRequest: Api.RollbackRequest;
  WebhookEndpoint: Api.WebhookEndpoint;
  WebhookTarget: Api.WebhookTarget;
  WebhookSecret: Api.WebhookSecretResponse;
  CreateWebhookRequest: Api.CreateWebhookRequest;
  DisableWebhookRequest: Api.DisableWebhookRequest;
  RejectRequest: Api.RejectRequest;
  WhoAmI: Api.WhoAmI;
  MatrixCell: Api.MatrixCell;
  MatrixRow: Api.MatrixRow;
  PolicyMatrix: Api.PolicyMatrix;
  LedgerCheck: Api.LedgerCheck;
}

const ref = <K extends keyof Components>(name: K): Schema<Components[K]> => schema({ $ref: `#/components/schemas/${name}` });

const ACTIONS = ["keep", "drop", "mask", "token", "coarsen"] as const;
const grant = schema<unknown>({
  type: "object",
  properties: { from: { type: "string" }, to: { type: "string" }, events: { type: "array", items: { type: "string" } }, scope: { enum: ["all", "own_orders", "own_parcels", "own_lockers"] }, classes: { type: "object", additionalProperties: { enum: ACTIONS } }, quota: { type: "object" } },
});
const fieldChange = {
  party: str,
  eventType: oneOf(EVENT_TYPES),
  field: schema<string>({ type: "string", description: 'a field name, or "(delivery)" for the event as a whole' }),
  from: str,
  to: str,
  cases: num,
  contracts: arr(str),
};
const webhookFormat = oneOf<Api.WebhookEndpoint["format"]>(["json", "epcis"]);
const webhookParts = {
  id: schema<string>({ type: "string", pattern: "^ep_[0-9a-f]{24}$" }),
  party: str,
  url: str,
  eventTypes: schema<Api.WebhookEndpoint["eventTypes"]>({ type: "array", items: { enum: EVENT_TYPES }, minItems: 1, uniqueItems: true }),
  format: webhookFormat,
  status: oneOf<Api.WebhookStatus>(["enabled", "disabled"]),
  createdAt: str,
  createdBy: str,
  disabledAt: opt(str),
  disabledReason: opt(str),
  secretIds: schema<string[]>({ type: "array", items: { type: "string", pattern: "^[0-9a-f]{8}$" }, description: "fingerprints (first 8 hex of SHA-256) of the secrets in use, newest first" }),
};
const impactParts = { reductions: arr(ref("FieldChange")), expansions: arr(ref("FieldChange")), otherChanges: arr(ref("FieldChange")), casesCompared: num };

const COMPONENTS: { readonly [K in keyof Components]: Schema<Components[K]> } = {
  Error: obj<Api.ErrorResponse>({
    error: str,
    code: oneOf<ApiErrorCode>([...POLICY_ERROR_CODES, ...SHARED_ERROR_CODES, ...LEDGER_ERROR_CODES]),
    hint: str,
    retriable: bool,
    details: opt(schema<unknown>({ description: "the problems of a malformed request, or the compiler output, test failures or floor violations of a rejected change" })),
  }),
  Party: obj<Api.PartyInfo>({ kind: oneOf(["marketplace", "courier", "locker"] as const), name: opt(str), network: opt(str) }),
  Contract: obj<Api.Contract>({ id: str, parties: schema<string[]>({ type: "array", items: { type: "string" }, minItems: 2, maxItems: 2 }), notice_days: opt(schema<number>({ type: "number", minimum: 0 })), grants: arr(grant) }),
  Change: obj<Api.PolicyChange>(
    { contracts: opt(dict(nullable(ref("Contract")))), rego: opt(dict(nullable(str))), parties: opt(dict(nullable(ref("Party")))) },
    { additionalProperties: false, description: "Contracts (id → contract or null to remove), Rego files (router/<name>.rego → text or null), parties (id → party or null)." },
  ),
  FieldChange: obj<Api.FieldChange>(fieldChange),
  Impact: obj<Api.Impact>({ ...impactParts, floorViolations: arr(str) }),
  ProposalImpact: obj<Api.ProposalImpact>(impactParts),
  DryRunLine: obj<Api.DryRunLine>({ party: str, eventType: oneOf(EVENT_TYPES), field: str, from: str, to: str, events: num, of: num, text: str }),
  DryRunReport: obj<Api.DryRunReport>({ sampled: num, byType: dict(num), lines: arr(ref("DryRunLine")) }),
  TestSummary: obj<Api.TestSummary>({ passed: num, failed: num, coverage: num }),
  Approval: obj<Api.Approval>({ by: str, role: oneOf<Api.Role>(["regulator", "party", "viewer"]), party: opt(str), at: str, immediate: bool }),
  Proposal: obj<Api.Proposal>(
    {
      id: str,
      createdAt: str,
      author: str,
      description: str,
      change: ref("Change"),
      baseVersion: str,
      proposedVersion: str,
      requiredSides: arr(str),
      impact: ref("ProposalImpact"),
      dryRun: ref("DryRunReport"),
      status: oneOf<Api.ProposalStatus>(["proposed", "scheduled", "published", "superseded", "rejected"]),
      approvals: arr(ref("Approval")),
      effectiveAt: opt(str),
      publishedVersion: opt(str),
      publishedAt: opt(str),
      rejection: opt(schema<NonNullable<Api.Proposal["rejection"]>>({ type: "object", required: ["by", "role", "at", "reason"], properties: { by: { type: "string" }, role: { enum: ["regulator", "party"] }, party: { type: "string" }, at: { type: "string" }, reason: { type: "string" } } })),
    },
    { description: "A proposed change with its impact, dry run, approvals and status." },
  ),
  HistoryItem: obj<Api.HistoryItem>({ version: str, kind: oneOf(["published", "rolled_back"] as const), at: str, by: str, previous: nullable(str), summary: schema<Record<string, unknown>>({ type: "object" }) }),
  Evaluation: obj<Api.EvaluateResponse>({ proposedVersion: str, tests: ref("TestSummary"), impact: ref("Impact"), dryRun: ref("DryRunReport") }, { description: "Tests, exact impact (reductions, expansions, floor violations) and dry run of a change." }),
  Version: obj<Api.VersionResponse>({ version: str }),
  LedgerEntry: obj<LedgerEntry>({ seq: num, at: str, type: oneOf(LEDGER_ENTRY_TYPES), actor: str, body: schema<unknown>({}), prev: str, hash: str, keyId: str, sig: str }),
  EvaluateRequest: obj<Api.EvaluateRequest>({ change: ref("Change") }, { additionalProperties: false }),
  ProposeRequest: obj<Api.ProposeRequest>({ change: ref("Change"), description: schema<string>({ type: "string", minLength: 1 }) }, { additionalProperties: false }),
  ApproveRequest: obj<Api.ApproveRequest>({ immediate: opt(bool) }, { additionalProperties: false }),
  RollbackRequest: obj<Api.RollbackRequest>({ version: schema<string>({ type: "string", minLength: 1 }) }, { additionalProperties: false }),
  WebhookEndpoint: obj<Api.WebhookEndpoint>(webhookParts, { description: "A party's webhook endpoint; its secrets only as fingerprints." }),
  WebhookTarget: obj<Api.WebhookTarget>({ ...webhookParts, secrets: schema<string[]>({ type: "array", items: { type: "string", pattern: "^whsec_" }, minItems: 1, description: "signing secrets, newest first (two during a rotation)" }) }, { description: "An enabled endpoint with its signing secrets (gateway only)." }),
  WebhookSecret: obj<Api.WebhookSecretResponse>({ endpoint: ref("WebhookEndpoint"), secret: schema<string>({ type: "string", pattern: "^whsec_", description: "shown once; afterwards only its fingerprint" }) }),
  CreateWebhookRequest: obj<Api.CreateWebhookRequest>(
    {
      url: schema<string>({ type: "string", format: "uri", maxLength: 2048, description: "https:// (http:// only where the deployment allows it), no user name, password or fragment, not a loopback or private address" }),
      eventTypes: schema<Api.CreateWebhookRequest["eventTypes"]>({ type: "array", items: { enum: EVENT_TYPES }, minItems: 1, uniqueItems: true }),
      format: opt(webhookFormat),
      party: opt(schema<string>({ type: "string", description: "the owning party: a party user's own (may be left out); a regulator must name one" })),
    },
    { additionalProperties: false },
  ),
  DisableWebhookRequest: obj<Api.DisableWebhookRequest>({ reason: schema<string>({ type: "string", minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
  RejectRequest: obj<Api.RejectRequest>({ reason: schema<string>({ type: "string", minLength: 1, maxLength: 500, description: "why; recorded in the ledger and shown to every side" }) }, { additionalProperties: false }),
  WhoAmI: obj<Api.WhoAmI>({ id: str, role: oneOf<Api.Role>(ROLES), party: opt(str) }),
  MatrixCell: obj<Api.MatrixCell>({ action: schema<string>({ type: "string", description: 'keep, mask, token, coarsen, drop, or "(not delivered)"' }), cases: num, rules: arr(str) }),
  MatrixRow: obj<Api.MatrixRow>({ party: str, eventType: oneOf(EVENT_TYPES), field: str, dataClass: str, cells: arr(ref("MatrixCell")) }),
  PolicyMatrix: obj<Api.PolicyMatrix>(
    {
      version: str,
      inForce: bool,
      parties: arr(str),
      eventTypes: schema<Api.PolicyMatrix["eventTypes"]>({ type: "array", items: { enum: EVENT_TYPES } }),
      scope: schema<Api.PolicyMatrix["scope"]>({ oneOf: [{ const: "all" }, { type: "object", required: ["party"], properties: { party: { type: "string" } } }] }),
      rows: arr(ref("MatrixRow")),
      cases: num,
    },
    { description: "Who receives what under one version: recipient × event type × field → actions, with the number of routing cases and the deciding rules." },
  ),
  LedgerCheck: obj<Api.LedgerCheck>(
    {
      result: schema<Api.LedgerCheck["result"]>({ type: "object", description: "ok, entries, head, headSeq and problems, as `px ledger verify` reports them" }),
      entries: schema<Api.LedgerCheck["entries"]>({ type: "array", items: { type: "object", required: ["entry", "problems"], properties: { entry: { $ref: "#/components/schemas/LedgerEntry" }, problems: { type: "array", items: { type: "object", properties: { kind: { type: "string" }, message: { type: "string" } } } } } } }),
    },
    { description: "Every ledger entry with the result of checking its hash, link and signature with the policy service's public key." },
  ),
};

// ------------------------------------------------------------------------------------------- paths

const REQUESTS: { readonly [O in keyof ApiRequests]: Schema<ApiRequests[O]> } = {
  evaluate: ref("EvaluateRequest"),
  propose: ref("ProposeRequest"),
  approve: ref("ApproveRequest"),
  rollback: ref("RollbackRequest"),
  createWebhook: ref("CreateWebhookRequest"),
  disableWebhook: ref("DisableWebhookRequest"),
  reject: ref("RejectRequest"),
};

const RESPONSES: { readonly [O in Operation]: Schema<ApiResponses[O]> } = {
  currentVersion: ref("Version"),
  history: arr(ref("HistoryItem")),
  evaluate: ref("Evaluation"),
  listProposals: arr(ref("Proposal")),
  propose: ref("Proposal"),
  getProposal: ref("Proposal"),
  approve: ref("Proposal"),
  apply: ref("Proposal"),
  rollback: ref("Version"),
  listWebhooks: arr(ref("WebhookEndpoint")),
  createWebhook: ref("WebhookSecret"),
  rotateWebhookSecret: ref("WebhookSecret"),
  disableWebhook: ref("WebhookEndpoint"),
  enableWebhook: ref("WebhookEndpoint"),
  webhookTargets: arr(ref("WebhookTarget")),
  whoami: ref("WhoAmI"),
  matrix: ref("PolicyMatrix"),
  reject: ref("Proposal"),
  ledgerVerify: ref("LedgerCheck"),
  ledger: arr(ref("LedgerEntry")),
  ledgerExport: str,
};

/** Codes any route may answer. */
export const COMMON_ERRORS: readonly ApiErrorCode[] = ["UNAUTHENTICATED", "INTERNAL", "DEPENDENCY_FAILED"];

const mapping = (code: ApiErrorCode): ErrorMapping => (ERROR_REGISTRY as Readonly<Partial<Record<ApiErrorCode, ErrorMapping>>>)[code]!;

/** Error responses by status, each describing its codes and their hints. */
function errorResponses(codes: readonly ApiErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const c of new Set(codes)) byStatus.set(mapping(c).status, [...(byStatus.get(mapping(c).status) ?? []), c]);
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([status, cs]) => [String(status), { description: cs.map((c) => `${c}: ${mapping(c).hint}`).join(" | "), content: { "application/json": { schema: ref("Error").json } } }]),
  );
}

function operation(op: Operation): Record<string, unknown> {
  const r = API_ROUTES[op];
  const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
  const request = (REQUESTS as Readonly<Partial<Record<Operation, Schema<unknown>>>>)[op];
  const contentType = "contentType" in r ? r.contentType : "application/json";
  const roles: readonly Api.Role[] = r.roles;
  const everyone = ROLES.every((role) => roles.includes(role));
  return {
    operationId: op,
    summary: r.summary,
    description: everyone ? `Roles: ${roles.join(", ")} (every role).` : `Roles: ${roles.join(", ")} only; a key of another role is answered 403 FORBIDDEN before the request is read.`,
    "x-roles": roles,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(request ? { requestBody: { required: op !== "approve", content: { "application/json": { schema: request.json } } } } : {}),
    // A route some role may not call answers that role 403, whether or not its handler may refuse too.
    responses: { [String(r.status)]: { description: r.summary, content: { [contentType]: { schema: RESPONSES[op].json } } }, ...errorResponses([...COMMON_ERRORS, ...(everyone ? [] : (["FORBIDDEN"] as const)), ...r.errors]) },
  };
}

function paths(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const op of Object.keys(API_ROUTES) as Operation[]) {
    const r = API_ROUTES[op];
    (out[r.path] ??= {})[r.method.toLowerCase()] = operation(op);
  }
  return out;
}

export const OPENAPI = {
  openapi: "3.1.0",
  info: { title: "Parcel Exchange policy service", version: "1.0.0", description: "Submit, review, approve, publish and roll back data-sharing policies; read the ledger. Every error answers with {error, code, hint, retriable, details?}." },
  components: {
    securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "API key; the service keeps only its SHA-256 hash" } },
    schemas: Object.fromEntries(Object.entries(COMPONENTS).map(([name, s]) => [name, s.json])),
  },
  security: [{ apiKey: [] }],
  paths: paths(),
} as const;
