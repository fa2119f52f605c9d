/**
 * Checking request bodies as they arrive over the API. Each parser lists every problem it finds and throws
 * one RequestInvalidError with all of them, or returns the body as its api.ts type.
 */
import type { ApiRequests } from "./api.js";
import { RequestInvalidError } from "./errors.js";

type Body = Readonly<Record<string, unknown>>;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Names that become file names (compile.ts writes `router/<name>.rego` and `contracts/<id>.json` into its
 * scratch directory), so they are checked as names before anything touches a file: no '/', '.', '..'.
 */
const REGO_PATH = /^router\/[a-z0-9_]+\.rego$/;
const PARTY_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A contract between two parties is named after them, `<party>--<party>` (e.g. jd--zto); a single name is allowed too. */
const CONTRACT_ID = /^[a-z0-9][a-z0-9-]{0,62}(--[a-z0-9][a-z0-9-]{0,62})?$/;

/** The problems of a change, with paths under `at` (e.g. "change.contracts.jd--zto.id must be 'jd--zto'"). */
export function changeProblems(raw: unknown, at = "change"): string[] {
  if (!isObj(raw)) return [`${at} must be a JSON object with contracts, rego and/or parties`];
  const problems: string[] = [];
  for (const k of Object.keys(raw)) if (!["contracts", "rego", "parties"].includes(k)) problems.push(`${at} has unknown key '${k}' (expected contracts, rego, parties)`);
  if (raw.contracts !== undefined) {
    if (!isObj(raw.contracts)) problems.push(`${at}.contracts must be an object of id → contract (or null to remove)`);
    else
      for (const [id, c] of Object.entries(raw.contracts)) {
        const here = `${at}.contracts.${id}`;
        if (!CONTRACT_ID.test(id)) problems.push(`${at}.contracts id '${id}' must be lower-case letters, digits and '-' (e.g. jd--zto)`);
        if (c === null) continue;
        if (!isObj(c)) problems.push(`${here} must be an object or null`);
        else {
          if (c.id !== id) problems.push(`${here}.id must be '${id}'`);
          if (!Array.isArray(c.parties) || c.parties.length !== 2 || !c.parties.every((p) => typeof p === "string")) problems.push(`${here}.parties must name the two parties`);
          if (!Array.isArray(c.grants)) problems.push(`${here}.grants must be an array`);
          if (c.notice_days !== undefined && (typeof c.notice_days !== "number" || c.notice_days < 0)) problems.push(`${here}.notice_days must be a non-negative number`);
        }
      }
  }
  if (raw.rego !== undefined) {
    if (!isObj(raw.rego)) problems.push(`${at}.rego must be an object of path → Rego text (or null to remove)`);
    else
      for (const [path, text] of Object.entries(raw.rego)) {
        if (!REGO_PATH.test(path)) problems.push(`${at}.rego path '${path}' must be router/<name>.rego, the name of lower-case letters, digits and '_'`);
        if (text !== null && typeof text !== "string") problems.push(`${at}.rego.${path} must be text or null`);
      }
  }
  if (raw.parties !== undefined) {
    if (!isObj(raw.parties)) problems.push(`${at}.parties must be an object of id → party (or null to remove)`);
    else
      for (const [id, p] of Object.entries(raw.parties)) {
        if (!PARTY_ID.test(id)) problems.push(`${at}.parties id '${id}' must be lower-case letters, digits and '-'`);
        if (p !== null && (!isObj(p) || !["marketplace", "courier", "locker"].includes(String(p.kind)))) problems.push(`${at}.parties.${id}.kind must be marketplace, courier or locker`);
      }
  }
  return problems;
}

/** Checks the keys of a body: `required` must be there, nothing outside `required` and `optional` may be. */
function keyProblems(body: Body, required: readonly string[], optional: readonly string[] = []): string[] {
  const problems = required.filter((k) => body[k] === undefined).map((k) => `'${k}' is required`);
  for (const k of Object.keys(body)) if (!required.includes(k) && !optional.includes(k)) problems.push(`unknown key '${k}'`);
  return problems;
}

function nonEmptyString(body: Body, key: string): string[] {
  const v = body[key];
  return v !== undefined && (typeof v !== "string" || v.trim() === "") ? [`'${key}' must be a non-empty string`] : [];
}

function check<T>(what: string, problems: readonly string[], body: Body): T {
  if (problems.length > 0) throw new RequestInvalidError(what, problems);
  return body as T;
}

/** Bodies of POST /v1/policy/evaluate. */
export function parseEvaluateRequest(body: Body): ApiRequests["evaluate"] {
  return check("the request body", [...keyProblems(body, ["change"]), ...(body.change === undefined ? [] : changeProblems(body.change))], body);
}

/** Bodies of POST /v1/proposals. */
export function parseProposeRequest(body: Body): ApiRequests["propose"] {
  return check("the request body", [...keyProblems(body, ["change", "description"]), ...(body.change === undefined ? [] : changeProblems(body.change)), ...nonEmptyString(body, "description")], body);
}

/** Bodies of POST /v1/proposals/{id}/approve (may be empty). */
export function parseApproveRequest(body: Body): ApiRequests["approve"] {
  const problems = keyProblems(body, [], ["immediate"]);
  if (body.immediate !== undefined && typeof body.immediate !== "boolean") problems.push("'immediate' must be true or false");
  return check("the request body", problems, body);
}

/** Bodies of POST /v1/policy/rollback. */
export function parseRollbackRequest(body: Body): ApiRequests["rollback"] {
  return check("the request body", [...keyProblems(body, ["version"]), ...nonEmptyString(body, "version")], body);
}

/** Bodies of POST /v1/proposals/{id}/reject: a reason of 1–500 characters, recorded in the ledger. */
export function parseRejectRequest(body: Body): ApiRequests["reject"] {
  const problems = keyProblems(body, ["reason"]);
  const r = body.reason;
  if (r !== undefined && (typeof r !== "string" || r.trim() === "" || r.length > 500)) problems.push("'reason' must be a non-empty string of at most 500 characters");
  return check("the request body", problems, body);
}

/** Bodies of routes that take none: empty, or an empty object. */
export function parseNoBody(body: Body): undefined {
  check("the request body", keyProblems(body, []), body);
  return undefined;
}
