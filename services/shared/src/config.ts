/**
 * The one place that reads the environment. Every setting has a default that points at the local stack
 * (infra/local), is validated at start-up, and a bad value fails with a ConfigError that names the setting
 * and the fix.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "./errors.js";

export interface MaskConfig {
  /** Characters kept at the start and end of a phone number; the rest become '*'. */
  readonly phone: { readonly keepStart: number; readonly keepEnd: number };
  /** Characters kept at the start of a name; at least one character is always hidden. */
  readonly name: { readonly keepStart: number };
}

export interface Config {
  readonly env: "development" | "production" | "test";
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    readonly ssl: boolean;
    /** PEM CA certificates the brokers' certificates are verified against (KAFKA_SSL_CA_FILE); the system's when absent. */
    readonly ca?: string;
    readonly caFile?: string;
    readonly sasl?: { readonly mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; readonly username: string; readonly password: string };
    readonly topicPartitions: number;
    readonly replicationFactor: number;
    /** min.insync.replicas of the topics the services create (2 when the replication factor is 3 or more). */
    readonly minInsyncReplicas: number;
  };
  readonly registry: { readonly url: string; readonly username?: string; readonly password?: string };
  readonly redisUrl: string;
  readonly opaBin: string;
  readonly topicPrefix: string;
  /** Names this deployment in every signed policy bundle; a router refuses bundles of another deployment. */
  readonly deploymentId: string;
  readonly policyDir: string;
  readonly router: {
    readonly groupId: string;
    readonly maxRecordBytes: number;
    /** Largest dead-letter record; bigger copies keep a bounded prefix and a reference (must fit the broker's limit). */
    readonly maxDeadLetterBytes: number;
    readonly policyEvalTimeoutMs: number;
    readonly tokenKey: string;
    readonly quotaWarnRatio: number;
    readonly partitionsConcurrently: number;
    readonly sessionTimeoutMs: number;
    readonly fetchMaxWaitMs: number;
    /** How often the router lists topics to take up a newly provisioned party's ingress topics. */
    readonly topicRefreshMs: number;
    /** How often the router measures its consumer group's lag (px_router_consumer_lag). */
    readonly lagIntervalMs: number;
    /** The Kafka client the router consumes and produces with (services/router/src/kafka-client). */
    readonly kafkaClient: "kafkajs" | "platformatic";
  };
  readonly masks: MaskConfig;
  readonly metricsPort: number;
  readonly logLevel: string;
  /** Whether demo and tests may start the local stack (infra/local) when it is not running. */
  readonly manageLocalStack: boolean;
  /** Ed25519 keys: the policy service signs bundles and ledger entries; routers and verifiers check them. */
  readonly signing: { readonly privateKeyFile: string; readonly publicKeyFile: string };
  readonly policyService: { readonly port: number; readonly url: string; readonly usersFile: string; readonly dryRunEvents: number; readonly countsGraceMs: number };
  /** The HTTP gateway (services/gateway): publishing over HTTP, webhooks and the live stream. */
  readonly gateway: {
    readonly port: number;
    /** The address the gateway listens on (PX_GATEWAY_HOST, loopback by default; 0.0.0.0 behind a TLS-terminating proxy). */
    readonly host: string;
    /** Names this instance's transactional ids (PX_GATEWAY_INSTANCE_ID, default the host name); unique per running gateway. */
    readonly instanceId: string;
    /** Largest request body (PX_GATEWAY_MAX_BODY_BYTES); bigger is 413. */
    readonly maxBodyBytes: number;
    /** Most events in one POST /v1/events (PX_GATEWAY_MAX_BATCH). */
    readonly maxBatch: number;
    /** Events per second a party may publish over HTTP, and the burst above it (429 with Retry-After beyond). */
    readonly ratePerSec: number;
    readonly rateBurst: number;
    /** How long an Idempotency-Key is remembered (PX_GATEWAY_IDEMPOTENCY_TTL_MS). */
    readonly idempotencyTtlMs: number;
    /** The gateway's key to the policy service, for the webhook endpoints it delivers to (PX_GATEWAY_POLICY_KEY). */
    readonly policyKey: string;
    /** Most records of a partition GET /v1/parcels/{id}/events reads back (PX_GATEWAY_HISTORY_SCAN), newest first. */
    readonly historyScan: number;
    /** How often the gateway asks the policy service for the webhook endpoints (PX_GATEWAY_ENDPOINTS_REFRESH_MS). */
    readonly endpointsRefreshMs: number;
  };
  /** What webhook endpoints may be (checked when one is registered and again before every delivery). */
  readonly webhooks: {
    /** Plain http:// endpoints (PX_WEBHOOK_ALLOW_HTTP); never in production. */
    readonly allowHttp: boolean;
    /** Loopback and private addresses (PX_WEBHOOK_ALLOW_PRIVATE): refused unless set (SSRF guard); the tests set it. */
    readonly allowPrivate: boolean;
    /** One attempt's time limit (PX_WEBHOOK_TIMEOUT_MS, 15 s). */
    readonly timeoutMs: number;
    /**
     * Scales the retry schedule (PX_WEBHOOK_SCHEDULE_SCALE, 1 = Standard Webhooks' 5 s … 10 h, about three days
     * in all); the tests shrink it; production refuses any other value.
     */
    readonly scheduleScale: number;
  };
  /** The web console (services/console): regulators', parties' and viewers' pages over the policy service. */
  readonly console: {
    /** PX_CONSOLE_PORT (8490). */
    readonly port: number;
    /** PX_CONSOLE_HOST: loopback by default; 0.0.0.0 behind a TLS-terminating proxy. */
    readonly host: string;
    /** PX_CONSOLE_SESSION_KEY: at least 32 characters; encrypts and authenticates the session cookie. Required in production to start the console (empty there when unset). */
    readonly sessionKey: string;
    /** PX_CONSOLE_SESSION_TTL_MS: how long a sign-in lasts (8 h). */
    readonly sessionTtlMs: number;
    /** PX_CONSOLE_SECURE_COOKIE: the cookie is sent over HTTPS only; production refuses false. */
    readonly secureCookie: boolean;
    /** PX_PROMETHEUS_URL: the Prometheus the live-flow page queries; absent, the page says how to start one. */
    readonly prometheusUrl?: string;
  };
  /** What every policy change must pass, and the limits its checks of submitted Rego run under. */
  readonly policyChecks: {
    /** Rego test coverage floor in percent (PX_POLICY_MIN_COVERAGE), for the policy-build CLI and every proposal. */
    readonly minCoverage: number;
    /** Wall-clock limit of each OPA run (build, test) on a proposed policy (PX_POLICY_SANDBOX_TIMEOUT_MS); the process is killed at it. */
    readonly opaTimeoutMs: number;
    /** Wall-clock limit of a proposal's impact and dry run in its worker thread (PX_POLICY_IMPACT_TIMEOUT_MS). */
    readonly impactTimeoutMs: number;
  };
}

type Env = Readonly<Record<string, string | undefined>>;

const DEV_TOKEN_KEY = "px-local-development-token-key-not-for-production";

function str(env: Env, name: string, dflt: string): string {
  const v = env[name];
  return v === undefined || v.trim() === "" ? dflt : v.trim();
}

function int(env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `'${raw}' is not a whole number from ${min} to ${max}`, `set ${name} to a whole number from ${min} to ${max}, or unset it for the default ${dflt}`);
  }
  return n;
}

function ratio(env: Env, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 1) {
    throw new ConfigError(name, `'${raw}' is not a ratio in (0, 1]`, `set ${name} to a number such as 0.8`);
  }
  return n;
}

function bool(env: Env, name: string, dflt: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return dflt;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `'${raw}' is not a boolean`, `set ${name} to true or false`);
}

function url(env: Env, name: string, dflt: string, protocols: readonly string[]): string {
  const v = str(env, name, dflt);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(name, `'${v}' is not a URL`, `set ${name} to a URL such as ${dflt}`);
  }
  if (!protocols.includes(u.protocol)) {
    throw new ConfigError(name, `'${v}' uses ${u.protocol} but only ${protocols.join(" or ")} is supported`, `set ${name} to a URL such as ${dflt}`);
  }
  return v.replace(/\/+$/, "");
}

function brokers(env: Env): string[] {
  const v = str(env, "KAFKA_BROKERS", "127.0.0.1:39092");
  const list = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const b of list) {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(b);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ConfigError("KAFKA_BROKERS", `'${b}' is not host:port`, "set KAFKA_BROKERS to a comma-separated list such as broker1:9092,broker2:9092");
    }
  }
  if (list.length === 0) throw new ConfigError("KAFKA_BROKERS", "no broker given", "set KAFKA_BROKERS to host:port[,host:port...]");
  return list;
}

function keepPair(env: Env, name: string, dflt: string): [number, number] {
  const v = str(env, name, dflt);
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m) throw new ConfigError(name, `'${v}' is not start:end`, `set ${name} to the characters kept at start and end, e.g. ${dflt}`);
  return [Number(m[1]), Number(m[2])];
}

export function loadConfig(env: Env = process.env): Config {
  const mode = str(env, "NODE_ENV", "development");
  if (mode !== "development" && mode !== "production" && mode !== "test") {
    throw new ConfigError("NODE_ENV", `'${mode}' is not development, production or test`, "set NODE_ENV to one of those");
  }
  const saslMech = str(env, "KAFKA_SASL_MECHANISM", "").toLowerCase();
  let sasl: Config["kafka"]["sasl"];
  if (saslMech !== "") {
    if (saslMech !== "plain" && saslMech !== "scram-sha-256" && saslMech !== "scram-sha-512") {
      throw new ConfigError("KAFKA_SASL_MECHANISM", `'${saslMech}' is not supported`, "set it to plain, scram-sha-256 or scram-sha-512, or unset it");
    }
    const username = str(env, "KAFKA_SASL_USERNAME", "");
    const password = str(env, "KAFKA_SASL_PASSWORD", "");
    if (username === "" || password === "") {
      throw new ConfigError("KAFKA_SASL_USERNAME", "SASL is enabled but the username or password is empty", "set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD");
    }
    sasl = { mechanism: saslMech, username, password };
  }

  const tokenKey = str(env, "PX_TOKEN_KEY", mode === "production" ? "" : DEV_TOKEN_KEY);
  if (tokenKey.length < 32) {
    throw new ConfigError("PX_TOKEN_KEY", tokenKey === "" ? "is required in production" : "is shorter than 32 characters", "set PX_TOKEN_KEY to a random secret of at least 32 characters (e.g. `openssl rand -hex 32`)");
  }

  const [phoneStart, phoneEnd] = keepPair(env, "PX_MASK_PHONE_KEEP", "3:2");
  if (11 - phoneStart - phoneEnd < 6) {
    throw new ConfigError("PX_MASK_PHONE_KEEP", `keeping ${phoneStart}+${phoneEnd} digits of an 11-digit number hides fewer than 6`, "keep at most 5 digits in all (the waybill standard hides at least six), e.g. 3:2");
  }
  const [nameStart] = keepPair(env, "PX_MASK_NAME_KEEP", "1:0");

  const tls = kafkaTls(env, mode);
  const replicationFactor = int(env, "PX_REPLICATION_FACTOR", 3, 1, 16);

  const regUser = str(env, "SCHEMA_REGISTRY_USERNAME", "");
  const regPass = str(env, "SCHEMA_REGISTRY_PASSWORD", "");

  return {
    env: mode,
    kafka: {
      brokers: brokers(env),
      clientId: str(env, "KAFKA_CLIENT_ID", "parcel-exchange"),
      ...tls,
      ...(sasl ? { sasl } : {}),
      topicPartitions: int(env, "PX_TOPIC_PARTITIONS", 3, 1, 10000),
      replicationFactor,
      minInsyncReplicas: int(env, "PX_MIN_INSYNC_REPLICAS", replicationFactor >= 3 ? 2 : 1, 1, replicationFactor),
    },
    registry: {
      url: url(env, "SCHEMA_REGISTRY_URL", "http://127.0.0.1:38081", ["http:", "https:"]),
      ...(regUser !== "" ? { username: regUser, password: regPass } : {}),
    },
    redisUrl: url(env, "REDIS_URL", "redis://127.0.0.1:36379", ["redis:", "rediss:"]),
    opaBin: str(env, "OPA_BIN", join(str(env, "PX_CACHE_DIR", join(homedir(), ".cache", "parcel-exchange")), "bin", "opa")),
    topicPrefix: topicPrefix(env),
    deploymentId: deploymentId(env),
    policyDir: resolve(str(env, "PX_POLICY_DIR", ".px/policy")),
    router: {
      // Under the router principal's own name (`<prefix>.router.`), where its ACLs allow groups and transactional ids.
      groupId: str(env, "PX_ROUTER_GROUP", `${topicPrefix(env)}.router.routers`),
      maxRecordBytes: int(env, "PX_MAX_RECORD_BYTES", 1_048_576, 256, 64 * 1_048_576),
      maxDeadLetterBytes: int(env, "PX_MAX_DEADLETTER_BYTES", 1_000_000, 4096, 64 * 1_048_576),
      policyEvalTimeoutMs: int(env, "PX_POLICY_EVAL_TIMEOUT_MS", 50, 1, 60_000),
      tokenKey,
      quotaWarnRatio: ratio(env, "PX_QUOTA_WARN_RATIO", 0.8),
      partitionsConcurrently: int(env, "PX_ROUTER_PARTITIONS_CONCURRENTLY", 4, 1, 1024),
      sessionTimeoutMs: int(env, "PX_ROUTER_SESSION_TIMEOUT_MS", 30_000, 6_000, 300_000),
      fetchMaxWaitMs: int(env, "PX_ROUTER_FETCH_MAX_WAIT_MS", 20, 0, 5_000),
      topicRefreshMs: int(env, "PX_ROUTER_TOPIC_REFRESH_MS", 10_000, 500, 600_000),
      lagIntervalMs: int(env, "PX_ROUTER_LAG_INTERVAL_MS", 10_000, 500, 600_000),
      kafkaClient: kafkaClient(env),
    },
    masks: { phone: { keepStart: phoneStart, keepEnd: phoneEnd }, name: { keepStart: nameStart } },
    metricsPort: int(env, "PX_METRICS_PORT", 9464, 0, 65535),
    logLevel: logLevel(env),
    manageLocalStack: bool(env, "PX_LOCAL_STACK", true),
    signing: {
      privateKeyFile: resolve(str(env, "PX_SIGNING_KEY_FILE", join(stateDir(env), "keys", "policy-signing.pem"))),
      publicKeyFile: resolve(str(env, "PX_VERIFY_KEY_FILE", join(stateDir(env), "keys", "policy-signing.pub.pem"))),
    },
    policyService: {
      port: int(env, "PX_POLICY_PORT", 8470, 0, 65535),
      url: url(env, "PX_POLICY_URL", `http://127.0.0.1:${int(env, "PX_POLICY_PORT", 8470, 0, 65535)}`, ["http:", "https:"]),
      usersFile: resolve(str(env, "PX_USERS_FILE", "policies/users.json")),
      dryRunEvents: int(env, "PX_DRY_RUN_EVENTS", 10_000, 1, 1_000_000),
      countsGraceMs: int(env, "PX_LEDGER_COUNTS_GRACE_MS", 15_000, 0, 600_000),
    },
    gateway: {
      port: int(env, "PX_GATEWAY_PORT", 8480, 0, 65535),
      host: str(env, "PX_GATEWAY_HOST", "127.0.0.1"),
      instanceId: gatewayInstance(env),
      maxBodyBytes: int(env, "PX_GATEWAY_MAX_BODY_BYTES", 1_048_576, 1024, 64 * 1_048_576),
      maxBatch: int(env, "PX_GATEWAY_MAX_BATCH", 500, 1, 10_000),
      ratePerSec: int(env, "PX_GATEWAY_RATE_PER_SEC", 2_000, 1, 10_000_000),
      rateBurst: int(env, "PX_GATEWAY_RATE_BURST", 4_000, 1, 10_000_000),
      idempotencyTtlMs: int(env, "PX_GATEWAY_IDEMPOTENCY_TTL_MS", 24 * 3_600_000, 60_000, 30 * 24 * 3_600_000),
      policyKey: str(env, "PX_GATEWAY_POLICY_KEY", ""),
      historyScan: int(env, "PX_GATEWAY_HISTORY_SCAN", 200_000, 100, 100_000_000),
      endpointsRefreshMs: int(env, "PX_GATEWAY_ENDPOINTS_REFRESH_MS", 2_000, 100, 600_000),
    },
    webhooks: webhookRules(env, mode),
    console: consoleSettings(env, mode),
    policyChecks: {
      minCoverage: int(env, "PX_POLICY_MIN_COVERAGE", 90, 0, 100),
      opaTimeoutMs: int(env, "PX_POLICY_SANDBOX_TIMEOUT_MS", 5_000, 100, 600_000),
      impactTimeoutMs: int(env, "PX_POLICY_IMPACT_TIMEOUT_MS", 10_000, 100, 600_000),
    },
  };
}

/**
 * TLS to the brokers: on by default (the local stack, like any production cluster, has no plaintext listener).
 * KAFKA_SSL_CA_FILE names the CA the brokers' certificates must chain to; in development it defaults to the local
 * stack's CA when that file exists, in production to the system's trust store.
 */
function kafkaTls(env: Env, mode: string): { ssl: boolean; ca?: string; caFile?: string } {
  const ssl = bool(env, "KAFKA_SSL", true);
  const localCa = join(stateDir(env), "tls", "ca.crt");
  const explicit = str(env, "KAFKA_SSL_CA_FILE", "");
  const caFile = explicit !== "" ? resolve(explicit) : mode !== "production" && existsSync(localCa) ? localCa : "";
  if (caFile === "") return { ssl };
  if (!ssl) throw new ConfigError("KAFKA_SSL_CA_FILE", "is set but KAFKA_SSL is false", "set KAFKA_SSL=true (the CA is only used for TLS), or unset KAFKA_SSL_CA_FILE");
  let ca: string;
  try {
    ca = readFileSync(caFile, "utf8");
  } catch (err) {
    throw new ConfigError("KAFKA_SSL_CA_FILE", `cannot read ${caFile} (${(err as Error).message})`, "set KAFKA_SSL_CA_FILE to a readable PEM file with the CA certificate of the brokers (the local stack's is ~/.local/state/parcel-exchange/tls/ca.crt)");
  }
  if (!ca.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ConfigError("KAFKA_SSL_CA_FILE", `${caFile} holds no PEM certificate`, "set KAFKA_SSL_CA_FILE to a PEM file that contains '-----BEGIN CERTIFICATE-----'");
  }
  return { ssl, ca, caFile };
}

function gatewayInstance(env: Env): string {
  const v = str(env, "PX_GATEWAY_INSTANCE_ID", hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 60) || "gateway");
  if (!/^[A-Za-z0-9_-]{1,60}$/.test(v)) throw new ConfigError("PX_GATEWAY_INSTANCE_ID", `'${v}' is not an instance name`, "use 1 to 60 letters, digits, '_' and '-', unique per running gateway");
  return v;
}

const DEV_CONSOLE_SESSION_KEY = "px-local-development-console-session-key-not-for-production";

function consoleSettings(env: Env, mode: string): Config["console"] {
  // Empty in production when unset: only the console needs it, and requireConsoleSessionKey() refuses to start it so.
  const sessionKey = str(env, "PX_CONSOLE_SESSION_KEY", mode === "production" ? "" : DEV_CONSOLE_SESSION_KEY);
  if (sessionKey !== "" && sessionKey.length < 32) {
    throw new ConfigError("PX_CONSOLE_SESSION_KEY", "is shorter than 32 characters", "set PX_CONSOLE_SESSION_KEY to a random secret of at least 32 characters (e.g. `openssl rand -hex 32`)");
  }
  if (mode === "production" && sessionKey === DEV_CONSOLE_SESSION_KEY) throw new ConfigError("PX_CONSOLE_SESSION_KEY", "is the development key", "set PX_CONSOLE_SESSION_KEY to a random secret of your own");
  const secureCookie = bool(env, "PX_CONSOLE_SECURE_COOKIE", mode === "production");
  if (mode === "production" && !secureCookie) throw new ConfigError("PX_CONSOLE_SECURE_COOKIE", "is false in production", "unset it: in production the session cookie is sent over HTTPS only");
  const prom = str(env, "PX_PROMETHEUS_URL", "");
  return {
    port: int(env, "PX_CONSOLE_PORT", 8490, 0, 65535),
    host: str(env, "PX_CONSOLE_HOST", "127.0.0.1"),
    sessionKey,
    sessionTtlMs: int(env, "PX_CONSOLE_SESSION_TTL_MS", 8 * 3_600_000, 60_000, 7 * 24 * 3_600_000),
    secureCookie,
    ...(prom !== "" ? { prometheusUrl: url(env, "PX_PROMETHEUS_URL", prom, ["http:", "https:"]) } : {}),
  };
}

/** The console's session key, checked when the console starts (the other services run without one). */
export function requireConsoleSessionKey(config: Pick<Config, "console">): string {
  const k = config.console.sessionKey;
  if (k.length < 32) throw new ConfigError("PX_CONSOLE_SESSION_KEY", k === "" ? "is required in production (the console seals its session cookies with it)" : "is shorter than 32 characters", "set PX_CONSOLE_SESSION_KEY to a random secret of at least 32 characters (e.g. `openssl rand -hex 32`)");
  return k;
}

function webhookRules(env: Env, mode: string): Config["webhooks"] {
  const allowHttp = bool(env, "PX_WEBHOOK_ALLOW_HTTP", false);
  const allowPrivate = bool(env, "PX_WEBHOOK_ALLOW_PRIVATE", false);
  const scheduleScale = Number(str(env, "PX_WEBHOOK_SCHEDULE_SCALE", "1"));
  if (!Number.isFinite(scheduleScale) || scheduleScale <= 0 || scheduleScale > 1) {
    throw new ConfigError("PX_WEBHOOK_SCHEDULE_SCALE", `'${env.PX_WEBHOOK_SCHEDULE_SCALE}' is not a number in (0, 1]`, "unset it (the Standard Webhooks schedule), or set a fraction such as 0.001 for tests");
  }
  if (mode === "production" && (allowHttp || allowPrivate || scheduleScale !== 1)) {
    throw new ConfigError(allowHttp ? "PX_WEBHOOK_ALLOW_HTTP" : allowPrivate ? "PX_WEBHOOK_ALLOW_PRIVATE" : "PX_WEBHOOK_SCHEDULE_SCALE", "relaxes the webhook rules in production", "unset it: production webhooks are HTTPS to public addresses on the full retry schedule");
  }
  return { allowHttp, allowPrivate, timeoutMs: int(env, "PX_WEBHOOK_TIMEOUT_MS", 15_000, 100, 60_000), scheduleScale };
}

function stateDir(env: Env): string {
  return str(env, "PX_STATE_DIR", join(homedir(), ".local", "state", "parcel-exchange"));
}

function topicPrefix(env: Env): string {
  const v = str(env, "PX_TOPIC_PREFIX", "px");
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(v)) {
    throw new ConfigError("PX_TOPIC_PREFIX", `'${v}' has characters Kafka does not allow in topic names`, "use letters, digits, '.', '_' and '-' only");
  }
  return v;
}

function deploymentId(env: Env): string {
  const v = str(env, "PX_DEPLOYMENT_ID", topicPrefix(env));
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(v)) {
    throw new ConfigError("PX_DEPLOYMENT_ID", `'${v}' is not a deployment name`, "use 1 to 100 letters, digits, '.', '_' and '-' (it defaults to PX_TOPIC_PREFIX)");
  }
  return v;
}

function kafkaClient(env: Env): "kafkajs" | "platformatic" {
  const v = str(env, "PX_KAFKA_CLIENT", "kafkajs").toLowerCase();
  if (v !== "kafkajs" && v !== "platformatic") {
    throw new ConfigError("PX_KAFKA_CLIENT", `'${v}' is not a supported Kafka client`, "set PX_KAFKA_CLIENT to kafkajs (the default) or platformatic, or unset it");
  }
  return v;
}

function logLevel(env: Env): string {
  const v = str(env, "PX_LOG_LEVEL", "info");
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(v)) {
    throw new ConfigError("PX_LOG_LEVEL", `'${v}' is not a log level`, "set PX_LOG_LEVEL to fatal, error, warn, info, debug, trace or silent");
  }
  return v;
}
