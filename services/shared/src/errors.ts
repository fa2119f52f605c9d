/**
 * Typed errors. Every error says what happened and what to do, and whether retrying can help
 * (`retriable`), in the manner of kafkajs's error classes. Error codes are a const union per package
 * (SharedErrorCode here; LedgerErrorCode, PolicyErrorCode, RouterErrorCode, SdkErrorCode, CliErrorCode in theirs), in the manner of
 * @platformatic/kafka's `errorCodes`; `PxError<C>` carries one of them.
 */

/** An error and the errors it wraps (kafkajs's `originalError`, or `cause`), outermost first, at most 8 deep. */
export function errorChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    out.push(e);
    const o = e as { cause?: unknown; originalError?: unknown };
    e = o.originalError ?? o.cause;
  }
  return out;
}

/**
 * Every error type named in a failure: kafkajs's `type` and @platformatic/kafka's `apiId` (e.g.
 * "TOPIC_AUTHORIZATION_FAILED"), through wrapped (`originalError`, `cause`) and aggregated (`errors`) errors.
 */
export function errorTypes(err: unknown, depth = 0): string[] {
  if (err === null || typeof err !== "object" || depth > 8) return [];
  const e = err as { type?: unknown; apiId?: unknown; errors?: unknown[]; originalError?: unknown; cause?: unknown };
  return [
    ...[e.type, e.apiId].filter((x): x is string => typeof x === "string"),
    ...(Array.isArray(e.errors) ? e.errors.flatMap((x) => errorTypes(x, depth + 1)) : []),
    ...errorTypes(e.originalError ?? e.cause, depth + 1),
  ];
}

/**
 * Reasons a record is dead-lettered by the router; also the values of the `reason` metric label. The last three
 * are about authenticity: a record on a topic that is no party's ingress topic, an event of another type than
 * its ingress topic's, and an event whose claimed source (platform / courier / locker) is not the topic's party.
 */
export const REJECT_REASONS = [
  "undecodable",
  "unknown_schema",
  "unknown_event_type",
  "missing_routing_attribute",
  "oversized",
  "policy_error",
  "unknown_topic",
  "type_mismatch",
  "spoofed_source",
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

/** Every code an error of the shared package carries. */
export const SHARED_ERROR_CODES = [
  "CONFIG_INVALID",
  "EVENT_INVALID",
  "REJECTED_UNDECODABLE",
  "REJECTED_UNKNOWN_SCHEMA",
  "REJECTED_UNKNOWN_EVENT_TYPE",
  "REJECTED_MISSING_ROUTING_ATTRIBUTE",
  "REJECTED_OVERSIZED",
  "REJECTED_POLICY_ERROR",
  "REJECTED_UNKNOWN_TOPIC",
  "REJECTED_TYPE_MISMATCH",
  "REJECTED_SPOOFED_SOURCE",
  "POLICY_FAILED",
  "POLICY_BUILD_FAILED",
  "BUNDLE_REFUSED",
  "DEPENDENCY_FAILED",
  "SCHEMA_NOT_REGISTERED",
] as const;

export type SharedErrorCode = (typeof SHARED_ERROR_CODES)[number];

/**
 * The root of every Parcel Exchange error. `C` is the code union of the package that throws it; it defaults
 * to `string` so that code outside the typed packages can still create one.
 */
export class PxError<C extends string = string> extends Error {
  readonly code: C;
  readonly retriable: boolean;
  constructor(code: C, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = opts.retriable ?? false;
  }
}

/** A configuration setting is missing or invalid. Names the setting and the fix. */
export class ConfigError extends PxError<SharedErrorCode> {
  readonly setting: string;
  constructor(setting: string, problem: string, fix: string) {
    super("CONFIG_INVALID", `${setting}: ${problem}. Fix: ${fix}`);
    this.setting = setting;
  }
}

/** An event a party tried to publish does not satisfy its schema or routing rules. */
export class ValidationError extends PxError<SharedErrorCode> {
  readonly problems: readonly string[];
  constructor(eventType: string, problems: readonly string[]) {
    super("EVENT_INVALID", `${eventType} rejected before sending: ${problems.join("; ")}. Fix the listed fields and publish again.`);
    this.problems = problems;
  }
}

/** A raw record the router cannot route. It goes to the dead-letter topic with this reason. */
export class RejectedRecordError extends PxError<SharedErrorCode> {
  readonly reason: RejectReason;
  constructor(reason: RejectReason, message: string, opts: { cause?: unknown } = {}) {
    // The template type is a union of one literal per reason; it type-checks only while each is in SHARED_ERROR_CODES.
    const code: `REJECTED_${Uppercase<RejectReason>}` = `REJECTED_${reason.toUpperCase() as Uppercase<RejectReason>}`;
    super(code, message, opts);
    this.reason = reason;
  }
}

/** Policy evaluation failed, timed out or returned a malformed decision. Fails closed. */
export class PolicyError extends PxError<SharedErrorCode> {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super("POLICY_FAILED", `${message}. The event is dead-lettered and delivered to no party; fix the policy and publish a new version.`, opts);
  }
}

/** The policy bundle could not be built or loaded. */
export class PolicyBuildError extends PxError<SharedErrorCode> {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super("POLICY_BUILD_FAILED", message, opts);
  }
}

/** A policy bundle a router will not apply (unsigned, foreign key, unreadable). The policy in force stays. */
export class BundleRefusedError extends PxError<SharedErrorCode> {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super("BUNDLE_REFUSED", `${message}; the policy in force stays. Publish bundles through the policy service, which signs them.`, opts);
  }
}

/** A process-boundary dependency (Kafka, registry, Redis) failed; retrying may help. */
export class DependencyError extends PxError<SharedErrorCode> {
  constructor(dependency: string, message: string, opts: { cause?: unknown } = {}) {
    super("DEPENDENCY_FAILED", `${dependency}: ${message}`, { retriable: true, cause: opts.cause });
  }
}

/**
 * An event schema this build publishes with is not in the registry under its subject. Parties do not register
 * schemas: the exchange's provisioning does. Retrying helps once it has.
 */
export class SchemaNotRegisteredError extends PxError<SharedErrorCode> {
  readonly eventType: string;
  readonly subject: string;
  constructor(eventType: string, subject: string, detail?: string) {
    super("SCHEMA_NOT_REGISTERED", `schema for ${eventType} is not registered under ${subject}${detail ? ` (${detail})` : ""}: the exchange's provisioning registers it (npx px parties provision)`, { retriable: true });
    this.eventType = eventType;
    this.subject = subject;
  }
}
