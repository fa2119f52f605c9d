/**
 * Typed errors. Every error says what happened and what to do, and whether retrying can help
 * (`retriable`), in the manner of kafkajs's error classes.
 */
export class PxError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  constructor(code: string, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = opts.retriable ?? false;
  }
}

/** A configuration setting is missing or invalid. Names the setting and the fix. */
export class ConfigError extends PxError {
  readonly setting: string;
  constructor(setting: string, problem: string, fix: string) {
    super("CONFIG_INVALID", `${setting}: ${problem}. Fix: ${fix}`);
    this.setting = setting;
  }
}

/** An event a party tried to publish does not satisfy its schema or routing rules. */
export class ValidationError extends PxError {
  readonly problems: readonly string[];
  constructor(eventType: string, problems: readonly string[]) {
    super("EVENT_INVALID", `${eventType} rejected before sending: ${problems.join("; ")}. Fix the listed fields and publish again.`);
    this.problems = problems;
  }
}

/** Reasons a record is dead-lettered by the router; also the values of the `reason` metric label. */
export type RejectReason =
  | "undecodable"
  | "unknown_schema"
  | "unknown_event_type"
  | "missing_routing_attribute"
  | "oversized"
  | "policy_error";

/** A raw record the router cannot route. It goes to the dead-letter topic with this reason. */
export class RejectedRecordError extends PxError {
  readonly reason: RejectReason;
  constructor(reason: RejectReason, message: string, opts: { cause?: unknown } = {}) {
    super(`REJECTED_${reason.toUpperCase()}`, message, opts);
    this.reason = reason;
  }
}

/** Policy evaluation failed, timed out or returned a malformed decision. Fails closed. */
export class PolicyError extends PxError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super("POLICY_FAILED", `${message}. The event is dead-lettered and delivered to no party; fix the policy and publish a new version.`, opts);
  }
}

/** The policy bundle could not be built or loaded. */
export class PolicyBuildError extends PxError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super("POLICY_BUILD_FAILED", message, opts);
  }
}

/** A policy bundle a router will not apply (unsigned, foreign key, unreadable). The policy in force stays. */
export class BundleRefusedError extends PxError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super("BUNDLE_REFUSED", `${message}; the policy in force stays. Publish bundles through the policy service, which signs them.`, opts);
  }
}

/** A process-boundary dependency (Kafka, registry, Redis) failed; retrying may help. */
export class DependencyError extends PxError {
  constructor(dependency: string, message: string, opts: { cause?: unknown } = {}) {
    super("DEPENDENCY_FAILED", `${dependency}: ${message}`, { retriable: true, cause: opts.cause });
  }
}
