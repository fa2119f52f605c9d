/**
 * The policy service's HTTP API: every request and response shape, and the table of routes. The service
 * (http.ts, requests.ts), its OpenAPI document (openapi.ts) and the `px` client (services/cli) all use these
 * definitions; none repeats a shape of its own.
 *
 * Only types, the error codes and one small route table live here, in a package of their own, so a client
 * (`px`, a party's tooling) depends on it without the service.
 */
import type { EventType, PartyInfo, SharedErrorCode } from "@parcel-exchange/shared";
import type { LedgerEntry, LedgerErrorCode, VerifyResult } from "@parcel-exchange/ledger";

/** Every code a policy service error carries (INTERNAL: an unexpected failure, answered as such). */
export const POLICY_ERROR_CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "REQUEST_INVALID",
  "ROUTE_NOT_FOUND",
  "NOT_FOUND",
  "CONFLICT",
  "CHANGE_REJECTED",
  "INTERNAL",
] as const;

export type PolicyErrorCode = (typeof POLICY_ERROR_CODES)[number];

export type { PartyInfo };

// ------------------------------------------------------------------------------------------- changes

export interface Contract {
  readonly id: string;
  readonly parties: readonly string[];
  readonly notice_days?: number;
  readonly grants: readonly unknown[];
}

/** Contracts added, replaced or removed (null), Rego files replaced or removed, parties added or removed. */
export interface PolicyChange {
  readonly contracts?: Readonly<Record<string, Contract | null>>;
  readonly rego?: Readonly<Record<string, string | null>>;
  readonly parties?: Readonly<Record<string, PartyInfo | null>>;
}

// ------------------------------------------------------------------------------------------- impact and dry run

export interface FieldChange {
  readonly party: string;
  readonly eventType: EventType;
  /** A field name, or "(delivery)" for the event as a whole. */
  readonly field: string;
  readonly from: string;
  readonly to: string;
  /** Attribute combinations (source, platform, courier, locker) where this happens. */
  readonly cases: number;
  /** The contract between the publishing party and the recipient in those cases, if any. */
  readonly contracts: readonly string[];
}

export interface Impact {
  readonly reductions: readonly FieldChange[];
  readonly expansions: readonly FieldChange[];
  readonly otherChanges: readonly FieldChange[];
  /** Cases where the proposal would withhold what the regulator's floor guarantees. */
  readonly floorViolations: readonly string[];
  readonly casesCompared: number;
}

/** The impact a proposal records: it has no floor violations, or it would not be a proposal. */
export type ProposalImpact = Omit<Impact, "floorViolations">;

export interface DryRunLine {
  readonly party: string;
  readonly eventType: EventType;
  readonly field: string;
  readonly from: string;
  readonly to: string;
  /** Events where this changes. */
  readonly events: number;
  /** Events of this type in the sample. */
  readonly of: number;
  readonly text: string;
}

export interface DryRunReport {
  readonly sampled: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly lines: readonly DryRunLine[];
}

export interface TestSummary {
  readonly passed: number;
  readonly failed: number;
  readonly coverage: number;
}

// ------------------------------------------------------------------------------------------- proposals

/** `gateway`: the HTTP gateway's service identity, which reads webhook endpoints with their secrets and disables failing ones. */
export type Role = "regulator" | "party" | "viewer" | "gateway";

/** Every role, as the users file names them. */
export const ROLES = ["viewer", "party", "regulator", "gateway"] as const satisfies readonly Role[];

// ------------------------------------------------------------------------------------------- webhooks

export type WebhookStatus = "enabled" | "disabled";

/** A party's webhook endpoint, as every reader sees it (never its secrets). */
export interface WebhookEndpoint {
  /** `ep_` + 24 hex. */
  readonly id: string;
  readonly party: string;
  readonly url: string;
  /** The event types delivered to it (at least one). */
  readonly eventTypes: readonly EventType[];
  /** Deliver as `{type, timestamp, data}` (json, default) or as a GS1 EPCIS 2.0 document (epcis). */
  readonly format: "json" | "epcis";
  readonly status: WebhookStatus;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly disabledAt?: string;
  readonly disabledReason?: string;
  /** Fingerprints (first 8 hex of SHA-256) of the secrets in use, newest first. */
  readonly secretIds: readonly string[];
}

/** What the gateway reads: an endpoint with the secrets it signs with (`whsec_…`, newest first; two during a rotation). */
export interface WebhookTarget extends WebhookEndpoint {
  readonly secrets: readonly string[];
}

export interface CreateWebhookRequest {
  readonly url: string;
  readonly eventTypes: readonly EventType[];
  readonly format?: "json" | "epcis";
  /** The owning party: a party user's own (may be left out); a regulator must name one. */
  readonly party?: string;
}

/** A new or rotated secret is shown once, in this answer; afterwards only its fingerprint. */
export interface WebhookSecretResponse {
  readonly endpoint: WebhookEndpoint;
  readonly secret: string;
}

export interface DisableWebhookRequest {
  readonly reason: string;
}

/** `rejected`: a required side or a regulator turned it down (POST /v1/proposals/{id}/reject); final. */
export type ProposalStatus = "proposed" | "scheduled" | "published" | "superseded" | "rejected";

export interface Approval {
  readonly by: string;
  readonly role: Role;
  readonly party?: string;
  readonly at: string;
  readonly immediate: boolean;
}

export interface Proposal {
  readonly id: string;
  readonly createdAt: string;
  readonly author: string;
  readonly description: string;
  readonly change: PolicyChange;
  readonly baseVersion: string;
  readonly proposedVersion: string;
  readonly requiredSides: readonly string[];
  readonly impact: ProposalImpact;
  readonly dryRun: DryRunReport;
  readonly status: ProposalStatus;
  readonly approvals: readonly Approval[];
  readonly effectiveAt?: string;
  readonly publishedVersion?: string;
  readonly publishedAt?: string;
  /** Set when status is `rejected`. */
  readonly rejection?: { readonly by: string; readonly role: Role; readonly party?: string; readonly at: string; readonly reason: string };
}

// ------------------------------------------------------------------------------------------- identity, matrix, ledger check

/** Who the key in the request belongs to (GET /v1/whoami). */
export interface WhoAmI {
  readonly id: string;
  readonly role: Role;
  /** A party user's party. */
  readonly party?: string;
}

/** How a field reaches a recipient in some routing cases, and the rules of the policy that decided it. */
export interface MatrixCell {
  /** keep, mask, token, coarsen or drop; "(not delivered)" for the cases where the event is not delivered at all. */
  readonly action: string;
  /** Routing cases (source, platform, courier, locker) where this is the action. */
  readonly cases: number;
  /** The `rule` names the decisions gave for this action, sorted. */
  readonly rules: readonly string[];
}

/** One recipient × event type × field of the matrix. */
export interface MatrixRow {
  /** The recipient party. */
  readonly party: string;
  readonly eventType: EventType;
  readonly field: string;
  /** The field's data class in the schema, e.g. "secret.pickup_code". */
  readonly dataClass: string;
  /** Most cases first. */
  readonly cells: readonly MatrixCell[];
}

/** Who receives what under one policy version (GET /v1/policy/versions/{version}/matrix). */
export interface PolicyMatrix {
  readonly version: string;
  /** Whether this is the version in force. */
  readonly inForce: boolean;
  /** The recipients shown (a party user: itself first, then those receiving its data). */
  readonly parties: readonly string[];
  readonly eventTypes: readonly EventType[];
  /**
   * For a party user, only what concerns it: what it receives, and what others receive of the events it is the
   * source of. Regulators and viewers see everything.
   */
  readonly scope: "all" | { readonly party: string };
  readonly rows: readonly MatrixRow[];
  /** Routing cases compared. */
  readonly cases: number;
}

/** A ledger entry with the result of checking it. */
export interface CheckedLedgerEntry {
  readonly entry: LedgerEntry;
  /** Problems of this entry (altered content, a signature that does not verify, a broken link, …); empty when it checks out. */
  readonly problems: readonly { readonly kind: string; readonly message: string }[];
}

/** The ledger as read at one moment, checked by the policy service with its public key (GET /v1/ledger/verify). */
export interface LedgerCheck {
  /** Chain and signature verification of all entries (the logic of `px ledger verify`). */
  readonly result: VerifyResult;
  readonly entries: readonly CheckedLedgerEntry[];
}

export interface RejectRequest {
  /** Why (shown to every side and recorded in the ledger), 1–500 characters. */
  readonly reason: string;
}

export interface HistoryItem {
  readonly version: string;
  readonly kind: "published" | "rolled_back";
  readonly at: string;
  readonly by: string;
  readonly previous: string | null;
  readonly summary: Readonly<Record<string, unknown>>;
}

// ------------------------------------------------------------------------------------------- bodies

export interface EvaluateRequest {
  readonly change: PolicyChange;
}

export interface EvaluateResponse {
  readonly proposedVersion: string;
  readonly tests: TestSummary;
  readonly impact: Impact;
  readonly dryRun: DryRunReport;
}

export interface ProposeRequest {
  readonly change: PolicyChange;
  readonly description: string;
}

export interface ApproveRequest {
  /** Regulator only: take effect now, without the notice period. */
  readonly immediate?: boolean;
}

export interface RollbackRequest {
  readonly version: string;
}

export interface VersionResponse {
  readonly version: string;
}

/** Every code an error response may carry: the policy service's own, and those of errors it passes on. */
export type ApiErrorCode = PolicyErrorCode | SharedErrorCode | LedgerErrorCode;

/** The body of every 4xx and 5xx response. */
export interface ErrorResponse {
  /** What went wrong. */
  readonly error: string;
  readonly code: ApiErrorCode;
  /** What to do about it. */
  readonly hint: string;
  /** Whether sending the same request again may succeed. */
  readonly retriable: boolean;
  /** Problems of a malformed request, or the compiler output, test failures or floor breaches of a rejected change. */
  readonly details?: unknown;
}

// ------------------------------------------------------------------------------------------- routes

export type HttpMethod = "GET" | "POST";

export interface RouteSpec {
  readonly method: HttpMethod;
  /** Path template; `{name}` is a path parameter. */
  readonly path: string;
  /** Status of a successful answer. */
  readonly status: 200 | 201;
  readonly summary: string;
  /** Error codes this route answers besides those every route may (UNAUTHENTICATED, INTERNAL, …). */
  readonly errors: readonly PolicyErrorCode[];
  /** Content type of a successful answer when it is not JSON. */
  readonly contentType?: string;
  /**
   * The roles that may call the route, checked before its handler runs (http.ts); at least one, so a route
   * without roles does not compile. The handler may check more (e.g. which contracts a party may change).
   */
  readonly roles: readonly [Role, ...Role[]];
}

/** Reading: every role. */
const READERS = ["viewer", "party", "regulator"] as const;
/** Evaluating, proposing and approving changes: parties (for contracts they are a side of) and regulators. */
const CHANGERS = ["party", "regulator"] as const;
/** Applying before the notice ends, rolling back. */
const REGULATORS = ["regulator"] as const;

/** Every route of the API (besides /healthz, /metrics and /openapi.json, which need no key). */
export const API_ROUTES = {
  currentVersion: { method: "GET", path: "/v1/policy/current", status: 200, summary: "The version in force", errors: [], roles: READERS },
  history: { method: "GET", path: "/v1/policy/history", status: 200, summary: "Published versions and rollbacks with author, time, summary and dry-run result", errors: [], roles: READERS },
  evaluate: { method: "POST", path: "/v1/policy/evaluate", status: 200, summary: "Compile, test, diff and dry-run a change without proposing it", errors: ["REQUEST_INVALID", "FORBIDDEN", "CHANGE_REJECTED"], roles: CHANGERS },
  listProposals: { method: "GET", path: "/v1/proposals", status: 200, summary: "All proposals", errors: [], roles: READERS },
  propose: { method: "POST", path: "/v1/proposals", status: 201, summary: "Propose a change", errors: ["REQUEST_INVALID", "FORBIDDEN", "CHANGE_REJECTED"], roles: CHANGERS },
  getProposal: { method: "GET", path: "/v1/proposals/{id}", status: 200, summary: "One proposal", errors: ["NOT_FOUND"], roles: READERS },
  approve: { method: "POST", path: "/v1/proposals/{id}/approve", status: 200, summary: "Approve (a regulator may ask for immediate effect)", errors: ["REQUEST_INVALID", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "CHANGE_REJECTED"], roles: CHANGERS },
  apply: { method: "POST", path: "/v1/proposals/{id}/apply", status: 200, summary: "Regulator: put an approved change into effect now", errors: ["FORBIDDEN", "NOT_FOUND", "CONFLICT", "CHANGE_REJECTED"], roles: REGULATORS },
  rollback: { method: "POST", path: "/v1/policy/rollback", status: 200, summary: "Regulator: put an earlier version back in force", errors: ["REQUEST_INVALID", "FORBIDDEN", "NOT_FOUND"], roles: REGULATORS },
  listWebhooks: { method: "GET", path: "/v1/webhooks", status: 200, summary: "Webhook endpoints (a party sees its own)", errors: [], roles: ["viewer", "party", "regulator"] },
  createWebhook: { method: "POST", path: "/v1/webhooks", status: 201, summary: "Register a webhook endpoint; the answer holds its secret, shown once", errors: ["REQUEST_INVALID", "FORBIDDEN"], roles: CHANGERS },
  rotateWebhookSecret: { method: "POST", path: "/v1/webhooks/{id}/rotate", status: 200, summary: "A new secret; the old one keeps signing beside it for 24 h", errors: ["FORBIDDEN", "NOT_FOUND"], roles: CHANGERS },
  disableWebhook: { method: "POST", path: "/v1/webhooks/{id}/disable", status: 200, summary: "Stop deliveries to an endpoint (the gateway does so on 410 or after the whole retry schedule failed)", errors: ["REQUEST_INVALID", "FORBIDDEN", "NOT_FOUND"], roles: ["party", "regulator", "gateway"] },
  enableWebhook: { method: "POST", path: "/v1/webhooks/{id}/enable", status: 200, summary: "Resume deliveries to a disabled endpoint", errors: ["FORBIDDEN", "NOT_FOUND"], roles: CHANGERS },
  webhookTargets: { method: "GET", path: "/v1/webhooks/targets", status: 200, summary: "Gateway only: enabled endpoints with their signing secrets", errors: [], roles: ["gateway"] },
  whoami: { method: "GET", path: "/v1/whoami", status: 200, summary: "The user the key belongs to: id, role and party", errors: [], roles: READERS },
  matrix: { method: "GET", path: "/v1/policy/versions/{version}/matrix", status: 200, summary: "Who receives what under a version: recipient × event type × field → action, with the deciding rules (a party sees what concerns it)", errors: ["NOT_FOUND"], roles: READERS },
  reject: { method: "POST", path: "/v1/proposals/{id}/reject", status: 200, summary: "Turn down a proposal that is not yet in force (a required side or a regulator)", errors: ["REQUEST_INVALID", "FORBIDDEN", "NOT_FOUND", "CONFLICT"], roles: CHANGERS },
  ledgerVerify: { method: "GET", path: "/v1/ledger/verify", status: 200, summary: "Every ledger entry with its hash-chain and signature check", errors: [], roles: READERS },
  ledger: { method: "GET", path: "/v1/ledger", status: 200, summary: "Every ledger entry", errors: [], roles: READERS },
  ledgerExport: { method: "GET", path: "/v1/ledger/export", status: 200, summary: "The ledger as JSON lines", errors: [], contentType: "application/x-ndjson", roles: READERS },
} as const satisfies Readonly<Record<string, RouteSpec>>;

export type Operation = keyof typeof API_ROUTES;

/** The body each operation takes; operations not listed take none. */
export interface ApiRequests {
  evaluate: EvaluateRequest;
  propose: ProposeRequest;
  approve: ApproveRequest;
  rollback: RollbackRequest;
  createWebhook: CreateWebhookRequest;
  disableWebhook: DisableWebhookRequest;
  reject: RejectRequest;
}

export type RequestOf<O extends Operation> = O extends keyof ApiRequests ? ApiRequests[O] : undefined;

/** What each operation answers with. */
export interface ApiResponses {
  currentVersion: VersionResponse;
  history: readonly HistoryItem[];
  evaluate: EvaluateResponse;
  listProposals: readonly Proposal[];
  propose: Proposal;
  getProposal: Proposal;
  approve: Proposal;
  apply: Proposal;
  rollback: VersionResponse;
  listWebhooks: readonly WebhookEndpoint[];
  createWebhook: WebhookSecretResponse;
  rotateWebhookSecret: WebhookSecretResponse;
  disableWebhook: WebhookEndpoint;
  enableWebhook: WebhookEndpoint;
  webhookTargets: readonly WebhookTarget[];
  whoami: WhoAmI;
  matrix: PolicyMatrix;
  reject: Proposal;
  ledgerVerify: LedgerCheck;
  ledger: readonly LedgerEntry[];
  /** JSON lines, one entry per line. */
  ledgerExport: string;
}

type ParamNames<P extends string> = P extends `${string}{${infer N}}${infer Rest}` ? N | ParamNames<Rest> : never;

/** The path parameters of an operation, e.g. `{ id: string }` for getProposal. */
export type PathParams<O extends Operation> = { readonly [N in ParamNames<(typeof API_ROUTES)[O]["path"]>]: string };

/** The path of an operation with its parameters filled in (URL-encoded). */
export function apiPath<O extends Operation>(op: O, params: PathParams<O>): string {
  const values = params as Readonly<Record<string, string>>;
  return API_ROUTES[op].path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new TypeError(`${op}: path parameter '${name}' missing`);
    return encodeURIComponent(v);
  });
}
