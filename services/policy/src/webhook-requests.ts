/**
 * Checking webhook request bodies: the endpoint URL (HTTPS, no credentials or fragment, no literal loopback or
 * private address unless the deployment allows it), the event types and the format. Like requests.ts, each
 * parser lists every problem and throws one RequestInvalidError with all of them.
 *
 * Only literal addresses are checked here; the gateway checks the addresses a name resolves to before every
 * delivery.
 */
import { BlockList, isIP } from "node:net";
import { EVENT_TYPES, type Config, type EventType } from "@parcel-exchange/shared";
import type { CreateWebhookRequest, DisableWebhookRequest, WebhookEndpoint } from "./api.js";
import { RequestInvalidError } from "./errors.js";

type Body = Readonly<Record<string, unknown>>;

export type WebhookRules = Pick<Config["webhooks"], "allowHttp" | "allowPrivate">;

export const MAX_URL_LENGTH = 2048;
export const MAX_REASON_LENGTH = 500;
export const WEBHOOK_FORMATS = ["json", "epcis"] as const satisfies readonly WebhookEndpoint["format"][];
const PARTY_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Loopback, private, link-local, unspecified and shared (CGNAT) ranges; IPv4-mapped IPv6 addresses are checked as IPv4. */
const PRIVATE = new BlockList();
for (const [net, bits] of [["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12], ["192.168.0.0", 16]] as const) PRIVATE.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10]] as const) PRIVATE.addSubnet(net, bits, "ipv6");

/** Whether a URL's hostname is `localhost` (or below it) or a literal loopback, private or link-local address. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "").replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v = isIP(host);
  return v !== 0 && PRIVATE.check(host, v === 4 ? "ipv4" : "ipv6");
}

/** The problems of an endpoint URL under the deployment's rules (none when it may be registered). */
export function urlProblems(raw: unknown, rules: WebhookRules): string[] {
  if (typeof raw !== "string" || raw === "") return ["'url' must be a non-empty string"];
  if (raw.length > MAX_URL_LENGTH) return [`'url' is ${raw.length} characters long; at most ${MAX_URL_LENGTH}`];
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return ["'url' is not a URL"];
  }
  const problems: string[] = [];
  if (u.protocol !== "https:" && !(u.protocol === "http:" && rules.allowHttp)) problems.push(`'url' must be https:// (not ${u.protocol}//)${rules.allowHttp ? " or http://" : ""}`);
  if (u.username !== "" || u.password !== "") problems.push("'url' must not carry a user name or password");
  if (raw.includes("#")) problems.push("'url' must not have a fragment (#…)");
  if (!rules.allowPrivate && isPrivateHost(u.hostname)) problems.push("'url' must not point at localhost or a loopback, private or link-local address");
  return problems;
}

function eventTypeProblems(raw: unknown): string[] {
  if (!Array.isArray(raw) || raw.length === 0) return [`'eventTypes' must be a non-empty array of ${EVENT_TYPES.join(", ")}`];
  const problems: string[] = [];
  const seen = new Set<unknown>();
  for (const t of raw) {
    if (!(EVENT_TYPES as readonly unknown[]).includes(t)) problems.push(`'eventTypes' has '${String(t)}', which is not one of ${EVENT_TYPES.join(", ")}`);
    else if (seen.has(t)) problems.push(`'eventTypes' names ${String(t)} twice`);
    seen.add(t);
  }
  return problems;
}

function keyProblems(body: Body, required: readonly string[], optional: readonly string[]): string[] {
  const problems = required.filter((k) => body[k] === undefined).map((k) => `'${k}' is required`);
  for (const k of Object.keys(body)) if (!required.includes(k) && !optional.includes(k)) problems.push(`unknown key '${k}'`);
  return problems;
}

/** Bodies of POST /v1/webhooks; the format defaults to json. */
export function parseCreateWebhookRequest(body: Body, rules: WebhookRules): CreateWebhookRequest & { readonly format: WebhookEndpoint["format"] } {
  const problems = keyProblems(body, ["url", "eventTypes"], ["format", "party"]);
  if (body.url !== undefined) problems.push(...urlProblems(body.url, rules));
  if (body.eventTypes !== undefined) problems.push(...eventTypeProblems(body.eventTypes));
  if (body.format !== undefined && !(WEBHOOK_FORMATS as readonly unknown[]).includes(body.format)) problems.push(`'format' must be ${WEBHOOK_FORMATS.join(" or ")}`);
  if (body.party !== undefined && (typeof body.party !== "string" || !PARTY_ID.test(body.party))) problems.push("'party' must be a party id (lower-case letters, digits and '-')");
  if (problems.length > 0) throw new RequestInvalidError("the request body", problems);
  return {
    url: body.url as string,
    eventTypes: body.eventTypes as EventType[],
    format: (body.format as WebhookEndpoint["format"] | undefined) ?? "json",
    ...(body.party === undefined ? {} : { party: body.party as string }),
  };
}

/** Bodies of POST /v1/webhooks/{id}/disable: a reason, 1–500 characters. */
export function parseDisableWebhookRequest(body: Body): DisableWebhookRequest {
  const problems = keyProblems(body, ["reason"], []);
  const r = body.reason;
  if (r !== undefined && (typeof r !== "string" || r.trim() === "" || r.length > MAX_REASON_LENGTH)) problems.push(`'reason' must be a non-empty string of at most ${MAX_REASON_LENGTH} characters`);
  if (problems.length > 0) throw new RequestInvalidError("the request body", problems);
  return { reason: r as string };
}
