import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, requireConsoleSessionKey } from "./config.js";
import { ConfigError } from "./errors.js";

type Env = Record<string, string | undefined>;

/** The ConfigError loadConfig throws for `env`; fails the test when the config loads or fails otherwise. */
function configError(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}, but the config loaded`);
}

/** Asserts that `env` is rejected naming `setting`, with the problem and a fix in the message. */
function expectRejected(env: Env, setting: string, fix: RegExp): ConfigError {
  const err = configError(env);
  expect(err.setting).toBe(setting);
  expect(err.code).toBe("CONFIG_INVALID");
  expect(err.retriable).toBe(false);
  expect(err.message.startsWith(`${setting}: `)).toBe(true);
  const [, fixText] = err.message.split(". Fix: ");
  expect(fixText, `message has no 'Fix:' part: ${err.message}`).toBeDefined();
  expect(fixText).toMatch(fix);
  return err;
}

describe("loadConfig: TLS to the brokers", () => {
  it("reads the CA file, and refuses one that is missing or holds no certificate, naming the setting", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "px-ca-"));
    const good = join(dir, "ca.crt");
    writeFileSync(good, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const bad = join(dir, "not-a-cert.pem");
    writeFileSync(bad, "hello");
    const c = loadConfig({ KAFKA_SSL_CA_FILE: good });
    expect(c.kafka.caFile).toBe(good);
    expect(c.kafka.ca).toContain("BEGIN CERTIFICATE");
    expect(() => loadConfig({ KAFKA_SSL_CA_FILE: bad })).toThrow(/KAFKA_SSL_CA_FILE: .*holds no PEM certificate/);
    expect(() => loadConfig({ KAFKA_SSL_CA_FILE: join(dir, "missing.pem") })).toThrow(/KAFKA_SSL_CA_FILE: cannot read/);
    expect(() => loadConfig({ KAFKA_SSL_CA_FILE: good, KAFKA_SSL: "false" })).toThrow(/KAFKA_SSL_CA_FILE: is set but KAFKA_SSL is false/);
    // Production never falls back to the local stack's CA.
    expect(loadConfig({ NODE_ENV: "production", PX_TOKEN_KEY: "x".repeat(40), PX_STATE_DIR: dir }).kafka.caFile).toBeUndefined();
  });
});

describe("loadConfig: defaults for the local stack", () => {
  it("uses the documented defaults when nothing is set", () => {
    const c = loadConfig({ PX_STATE_DIR: "/nonexistent/px-state" });
    expect(c.env).toBe("development");
    expect(c.kafka).toEqual({ brokers: ["127.0.0.1:39092"], clientId: "parcel-exchange", ssl: true, topicPartitions: 3, replicationFactor: 3, minInsyncReplicas: 2 });
    expect(c.kafka.sasl).toBeUndefined();
    expect(c.registry).toEqual({ url: "http://127.0.0.1:38081" });
    expect(c.redisUrl).toBe("redis://127.0.0.1:36379");
    expect(c.topicPrefix).toBe("px");
    expect(c.policyDir).toBe(resolve(".px/policy"));
    expect(c.router).toMatchObject({ groupId: "px.router.routers", maxRecordBytes: 1_048_576, policyEvalTimeoutMs: 50, quotaWarnRatio: 0.8, partitionsConcurrently: 4, sessionTimeoutMs: 30_000 });
    expect(c.masks).toEqual({ phone: { keepStart: 3, keepEnd: 2 }, name: { keepStart: 1 } });
    expect(c.metricsPort).toBe(9464);
    expect(c.logLevel).toBe("info");
    expect(c.opaBin).toMatch(/parcel-exchange[/\\]bin[/\\]opa$/);
  });

  it("outside production supplies a development token key of at least 32 characters", () => {
    for (const NODE_ENV of [undefined, "development", "test"]) {
      const key = loadConfig({ NODE_ENV }).router.tokenKey;
      expect(key.length).toBeGreaterThanOrEqual(32);
    }
  });

  it("treats blank values as unset", () => {
    const c = loadConfig({ KAFKA_BROKERS: "  ", PX_TOPIC_PARTITIONS: "", PX_LOG_LEVEL: " ", REDIS_URL: "" });
    expect(c.kafka.brokers).toEqual(["127.0.0.1:39092"]);
    expect(c.kafka.topicPartitions).toBe(3);
    expect(c.logLevel).toBe("info");
    expect(c.redisUrl).toBe("redis://127.0.0.1:36379");
  });

  it("reads values that are set", () => {
    const c = loadConfig({
      NODE_ENV: "production",
      PX_TOKEN_KEY: "k".repeat(32),
      KAFKA_BROKERS: " b1.internal:9092 , [::1]:9093,",
      KAFKA_SSL: "yes",
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "router",
      KAFKA_SASL_PASSWORD: "s3cret",
      SCHEMA_REGISTRY_URL: "https://registry.example.com/",
      SCHEMA_REGISTRY_USERNAME: "reg",
      SCHEMA_REGISTRY_PASSWORD: "pw",
      REDIS_URL: "rediss://cache.example.com:6380",
      PX_TOPIC_PREFIX: "prod.px_v2-a",
      PX_MAX_RECORD_BYTES: "256",
      PX_METRICS_PORT: "0",
      PX_MASK_PHONE_KEEP: "2:3",
      PX_MASK_NAME_KEEP: "0:0",
      PX_QUOTA_WARN_RATIO: "1",
      PX_LOG_LEVEL: "debug",
    });
    expect(c.env).toBe("production");
    expect(c.router.tokenKey).toBe("k".repeat(32));
    expect(c.kafka.brokers).toEqual(["b1.internal:9092", "[::1]:9093"]);
    expect(c.kafka.ssl).toBe(true);
    expect(c.kafka.sasl).toEqual({ mechanism: "scram-sha-512", username: "router", password: "s3cret" });
    expect(c.registry).toEqual({ url: "https://registry.example.com", username: "reg", password: "pw" });
    expect(c.redisUrl).toBe("rediss://cache.example.com:6380");
    expect(c.topicPrefix).toBe("prod.px_v2-a");
    expect(c.router.maxRecordBytes).toBe(256);
    expect(c.metricsPort).toBe(0);
    expect(c.masks).toEqual({ phone: { keepStart: 2, keepEnd: 3 }, name: { keepStart: 0 } });
    expect(c.router.quotaWarnRatio).toBe(1);
    expect(c.logLevel).toBe("debug");
  });
});

describe("loadConfig: every bad value names its setting and the fix", () => {
  it("PX_KAFKA_CLIENT: kafkajs by default, platformatic on request, anything else rejected", () => {
    expect(loadConfig({}).router.kafkaClient).toBe("kafkajs");
    expect(loadConfig({ PX_KAFKA_CLIENT: "Platformatic" }).router.kafkaClient).toBe("platformatic");
    const err = expectRejected({ PX_KAFKA_CLIENT: "rdkafka" }, "PX_KAFKA_CLIENT", /kafkajs .*or platformatic/);
    expect(err.message).toMatch(/'rdkafka' is not a supported Kafka client/);
  });

  it.each([
    ["a host without a port", "localhost"],
    ["a URL instead of host:port", "kafka://broker:9092"],
    ["port 0", "broker:0"],
    ["a port above 65535", "broker:70000"],
    ["a bad entry among good ones", "b1:9092,b 2:9092"],
    ["a non-numeric port", "broker:http"],
  ])("KAFKA_BROKERS: rejects %s", (_what, value) => {
    const err = expectRejected({ KAFKA_BROKERS: value }, "KAFKA_BROKERS", /KAFKA_BROKERS to .*host|broker1:9092/);
    expect(err.message).toMatch(/is not host:port/);
  });

  it("KAFKA_BROKERS: rejects a list with no broker in it", () => {
    const err = expectRejected({ KAFKA_BROKERS: " , ," }, "KAFKA_BROKERS", /host:port/);
    expect(err.message).toMatch(/no broker/);
  });

  it.each([
    ["SCHEMA_REGISTRY_URL", "not a url", /is not a URL/, /http:\/\/127\.0\.0\.1:38081/],
    ["SCHEMA_REGISTRY_URL", "ftp://registry:8081", /uses ftp: but only http: or https:/, /http:\/\/127\.0\.0\.1:38081/],
    ["SCHEMA_REGISTRY_URL", "redis://registry:8081", /only http: or https:/, /a URL such as/],
    ["REDIS_URL", "127.0.0.1 6379", /is not a URL/, /redis:\/\/127\.0\.0\.1:36379/],
    ["REDIS_URL", "http://cache:6379", /uses http: but only redis: or rediss:/, /redis:\/\/127\.0\.0\.1:36379/],
  ])("%s=%j is rejected", (setting, value, problem, fix) => {
    const err = expectRejected({ [setting]: value }, setting, fix);
    expect(err.message).toMatch(problem);
  });

  it.each([
    ["PX_TOPIC_PARTITIONS", "six"],
    ["PX_TOPIC_PARTITIONS", "1.5"],
    ["PX_TOPIC_PARTITIONS", "0"],
    ["PX_TOPIC_PARTITIONS", "10001"],
    ["PX_REPLICATION_FACTOR", "17"],
    ["PX_MAX_RECORD_BYTES", "255"],
    ["PX_MAX_RECORD_BYTES", String(64 * 1_048_576 + 1)],
    ["PX_POLICY_EVAL_TIMEOUT_MS", "0"],
    ["PX_POLICY_EVAL_TIMEOUT_MS", "fast"],
    ["PX_ROUTER_PARTITIONS_CONCURRENTLY", "-1"],
    ["PX_ROUTER_SESSION_TIMEOUT_MS", "5999"],
    ["PX_ROUTER_SESSION_TIMEOUT_MS", "300001"],
    ["PX_METRICS_PORT", "65536"],
    ["PX_METRICS_PORT", "NaN"],
  ])("%s=%j is not accepted as a whole number in range", (setting, value) => {
    const err = expectRejected({ [setting]: value }, setting, new RegExp(`set ${setting} to a whole number from \\d+ to \\d+, or unset it for the default \\d+`));
    expect(err.message).toContain(`'${value}' is not a whole number`);
  });

  it("int settings accept both bounds", () => {
    const c = loadConfig({ PX_TOPIC_PARTITIONS: "10000", PX_REPLICATION_FACTOR: "16", PX_MAX_RECORD_BYTES: String(64 * 1_048_576), PX_METRICS_PORT: "65535" });
    expect([c.kafka.topicPartitions, c.kafka.replicationFactor, c.router.maxRecordBytes, c.metricsPort]).toEqual([10000, 16, 64 * 1_048_576, 65535]);
  });

  it("PX_TOKEN_KEY is required in production", () => {
    const err = expectRejected({ NODE_ENV: "production" }, "PX_TOKEN_KEY", /at least 32 characters/);
    expect(err.message).toMatch(/required in production/);
    // Blank counts as unset.
    expectRejected({ NODE_ENV: "production", PX_TOKEN_KEY: "   " }, "PX_TOKEN_KEY", /at least 32 characters/);
  });

  it("PX_CONSOLE_SESSION_KEY: only the console needs it; it refuses to start without one in production, and a short or development key anywhere it applies", () => {
    const prod = { NODE_ENV: "production", PX_TOKEN_KEY: "k".repeat(32) };
    const c = loadConfig(prod);
    expect(c.console.sessionKey).toBe("");
    expect(c.console.secureCookie).toBe(true);
    expect(() => requireConsoleSessionKey(c)).toThrow(ConfigError);
    expect(() => requireConsoleSessionKey(c)).toThrow(/PX_CONSOLE_SESSION_KEY: is required in production/);
    expectRejected({ ...prod, PX_CONSOLE_SESSION_KEY: "s".repeat(31) }, "PX_CONSOLE_SESSION_KEY", /at least 32 characters/);
    expectRejected({ ...prod, PX_CONSOLE_SESSION_KEY: loadConfig({ NODE_ENV: "test" }).console.sessionKey }, "PX_CONSOLE_SESSION_KEY", /a random secret of your own/);
    expectRejected({ ...prod, PX_CONSOLE_SESSION_KEY: "s".repeat(32), PX_CONSOLE_SECURE_COOKIE: "false" }, "PX_CONSOLE_SECURE_COOKIE", /HTTPS only/);
    expect(requireConsoleSessionKey(loadConfig({ ...prod, PX_CONSOLE_SESSION_KEY: "s".repeat(32) }))).toBe("s".repeat(32));
    // Outside production a development key is supplied.
    expect(requireConsoleSessionKey(loadConfig({ NODE_ENV: "test" })).length).toBeGreaterThanOrEqual(32);
  });

  it("PX_TOKEN_KEY must have at least 32 characters, in any environment", () => {
    for (const NODE_ENV of ["production", "development", "test"]) {
      const err = expectRejected({ NODE_ENV, PX_TOKEN_KEY: "k".repeat(31) }, "PX_TOKEN_KEY", /at least 32 characters/);
      expect(err.message).toMatch(/shorter than 32/);
    }
    expect(loadConfig({ NODE_ENV: "production", PX_TOKEN_KEY: "k".repeat(32) }).router.tokenKey).toHaveLength(32);
  });

  it.each([
    ["4:2", "hides 5"],
    ["3:3", "hides 5"],
    ["6:0", "hides 5"],
    ["11:0", "hides 0"],
  ])("PX_MASK_PHONE_KEEP=%s is rejected (%s of 11 digits)", (value) => {
    const err = expectRejected({ PX_MASK_PHONE_KEEP: value }, "PX_MASK_PHONE_KEEP", /at most 5 digits/);
    expect(err.message).toMatch(/hides fewer than 6/);
  });

  it("PX_MASK_PHONE_KEEP accepts settings hiding exactly 6 of 11 digits", () => {
    expect(loadConfig({ PX_MASK_PHONE_KEEP: "5:0" }).masks.phone).toEqual({ keepStart: 5, keepEnd: 0 });
    expect(loadConfig({ PX_MASK_PHONE_KEEP: "0:5" }).masks.phone).toEqual({ keepStart: 0, keepEnd: 5 });
  });

  it.each(["3", "3-2", "a:b", "-1:2"])("PX_MASK_PHONE_KEEP=%j is not start:end", (value) => {
    const err = expectRejected({ PX_MASK_PHONE_KEEP: value }, "PX_MASK_PHONE_KEEP", /e\.g\. 3:2/);
    expect(err.message).toMatch(/is not start:end/);
  });

  it("PX_MASK_NAME_KEEP must be start:end", () => {
    expectRejected({ PX_MASK_NAME_KEEP: "one" }, "PX_MASK_NAME_KEEP", /e\.g\. 1:0/);
  });

  it("SASL without a username or password is rejected", () => {
    expectRejected({ KAFKA_SASL_MECHANISM: "plain" }, "KAFKA_SASL_USERNAME", /set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
    expectRejected({ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u" }, "KAFKA_SASL_USERNAME", /KAFKA_SASL_PASSWORD/);
    expectRejected({ KAFKA_SASL_MECHANISM: "scram-sha-256", KAFKA_SASL_PASSWORD: "p" }, "KAFKA_SASL_USERNAME", /KAFKA_SASL_USERNAME/);
  });

  it("an unsupported SASL mechanism is rejected", () => {
    expectRejected({ KAFKA_SASL_MECHANISM: "gssapi", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" }, "KAFKA_SASL_MECHANISM", /plain, scram-sha-256 or scram-sha-512/);
  });

  it.each(["px prod", "px/prod", "px:prod", "é", "p".repeat(101)])("PX_TOPIC_PREFIX=%j is rejected", (value) => {
    const err = expectRejected({ PX_TOPIC_PREFIX: value }, "PX_TOPIC_PREFIX", /letters, digits, '\.', '_' and '-'/);
    expect(err.message).toMatch(/Kafka does not allow/);
  });

  it("PX_TOPIC_PREFIX accepts 100 allowed characters", () => {
    expect(loadConfig({ PX_TOPIC_PREFIX: "p".repeat(100) }).topicPrefix).toBe("p".repeat(100));
  });

  it.each(["verbose", "warning", "INFO"])("PX_LOG_LEVEL=%j is rejected", (value) => {
    const err = expectRejected({ PX_LOG_LEVEL: value }, "PX_LOG_LEVEL", /fatal, error, warn, info, debug, trace or silent/);
    expect(err.message).toMatch(/is not a log level/);
  });

  it("NODE_ENV, KAFKA_SSL and PX_QUOTA_WARN_RATIO are validated too", () => {
    expectRejected({ NODE_ENV: "staging" }, "NODE_ENV", /one of those/);
    expectRejected({ KAFKA_SSL: "maybe" }, "KAFKA_SSL", /true or false/);
    expectRejected({ PX_QUOTA_WARN_RATIO: "0" }, "PX_QUOTA_WARN_RATIO", /0\.8/);
    expectRejected({ PX_QUOTA_WARN_RATIO: "1.5" }, "PX_QUOTA_WARN_RATIO", /0\.8/);
  });
});

describe("classifyConnectError", () => {
  const config = loadConfig({ PX_STATE_DIR: "/nonexistent/px-state", KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: "px.zto", KAFKA_SASL_PASSWORD: "x" });
  it("names the CA file for an untrusted certificate, the password for refused credentials, and waits on anything else", async () => {
    const { classifyConnectError } = await import("./kafka.js");
    const tls = Object.assign(new Error("unable to verify the first certificate"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    expect(classifyConnectError({ name: "KafkaJSConnectionError", message: "Connection error", originalError: tls }, config)?.setting).toBe("KAFKA_SSL_CA_FILE");
    expect(classifyConnectError({ name: "KafkaJSSASLAuthenticationError", message: "SASL SCRAM SHA512 authentication failed" }, config)?.setting).toBe("KAFKA_SASL_PASSWORD");
    expect(classifyConnectError({ name: "KafkaJSConnectionError", message: "connect ECONNREFUSED 127.0.0.1:39092" }, config)).toBeUndefined();
    const anonymous = loadConfig({ PX_STATE_DIR: "/nonexistent/px-state" });
    expect(classifyConnectError({ name: "KafkaJSConnectionClosedError", message: "Closed connection" }, anonymous)?.setting).toBe("KAFKA_SASL_MECHANISM");
  });
});
