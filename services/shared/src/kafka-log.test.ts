/**
 * Which kafkajs log entries reach the log as errors: the messages below are written out by hand from the Kafka
 * protocol's error table (not taken from kafkajs), so the check does not reuse what it checks.
 */
import { logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkajsLogLevel } from "./kafka.js";

describe("kafkajsLogLevel", () => {
  it("logs the broker answers kafkajs retries by itself at debug", () => {
    for (const error of [
      "The coordinator is loading and hence can't process requests for this group",
      "This server does not host this topic-partition",
      "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing",
    ]) {
      expect(kafkajsLogLevel(logLevel.ERROR, { message: "Response Metadata(key: 3, version: 6)", error }), error).toBe("debug");
      expect(kafkajsLogLevel(logLevel.ERROR, { message: `Failed to send messages: ${error}` }), error).toBe("debug");
    }
  });

  it("keeps what a user must act on an error: authorization, authentication, a broken connection's final failure, anything unknown", () => {
    expect(kafkajsLogLevel(logLevel.ERROR, { message: "Response Produce(key: 0, version: 7)", error: "Not authorized to access topics: [Topic authorization failed]" })).toBe("error");
    expect(kafkajsLogLevel(logLevel.ERROR, { message: "Failed to send messages: Not authorized to access topics: [Topic authorization failed]" })).toBe("error");
    expect(kafkajsLogLevel(logLevel.ERROR, { message: "SASL SCRAM SHA512 authentication failed", error: "Authentication failed" })).toBe("error");
    expect(kafkajsLogLevel(logLevel.ERROR, { message: "[Consumer] Crash: KafkaJSNumberOfRetriesExceeded: Connection timeout" })).toBe("error");
    expect(kafkajsLogLevel(logLevel.ERROR, {})).toBe("error");
  });

  it("keeps warnings and moves kafkajs's info and debug below the service's info", () => {
    expect(kafkajsLogLevel(logLevel.WARN, { message: "x" })).toBe("warn");
    expect(kafkajsLogLevel(logLevel.INFO, { message: "x" })).toBe("debug");
    expect(kafkajsLogLevel(logLevel.DEBUG, { message: "x" })).toBe("trace");
  });
});
