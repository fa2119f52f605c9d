import { describe, expect, it } from "vitest";
import { provisionPlan, topicConfigDrift, type AclRule } from "./plan.js";
import { ProvisionError } from "./errors.js";

const parties = {
  taobao: { kind: "marketplace" },
  zto: { kind: "courier" },
  "hive-box": { kind: "locker", quota: { produceBytesPerSec: 2048, fetchBytesPerSec: 4096 } },
};
const plan = provisionPlan({ prefix: "px", parties, ledgerTransactionalId: "px.ledger-writer" });
const rulesOf = (principal: string): string[] =>
  plan.acls.filter((r) => r.principal === principal).map((r: AclRule) => `${r.operation} ${r.resourceType} ${r.patternType} ${r.name}`).sort();

describe("provisionPlan", () => {
  it("gives a courier exactly: write its tracking ingress topic, read its delivery topic, its own groups and transactional ids", () => {
    expect(rulesOf("px.zto")).toEqual(
      [
        "describe topic literal px.raw.zto.tracking",
        "write topic literal px.raw.zto.tracking",
        "describe topic literal px.deliver.zto",
        "read topic literal px.deliver.zto",
        "describe group prefixed px.zto.",
        "read group prefixed px.zto.",
        "describe transactional-id prefixed px.zto.",
        "write transactional-id prefixed px.zto.",
      ].sort(),
    );
  });

  it("publishes by kind: a marketplace writes orders, a locker operator locker events", () => {
    expect(rulesOf("px.taobao")).toContain("write topic literal px.raw.taobao.orders");
    expect(rulesOf("px.hive-box")).toContain("write topic literal px.raw.hive-box.locker");
    expect(rulesOf("px.taobao").filter((r) => r.startsWith("write topic"))).toEqual(["write topic literal px.raw.taobao.orders"]);
  });

  it("never names another party in a party's rights", () => {
    for (const me of Object.keys(parties)) {
      for (const other of Object.keys(parties).filter((p) => p !== me)) {
        expect(rulesOf(`px.${me}`).filter((r) => r.includes(`.${other}`))).toEqual([]);
      }
    }
  });

  it("gives the router read on ingress and policy, write on deliveries, dead letters and counts, and nothing on the ledger", () => {
    const r = rulesOf("px.router");
    expect(r).toEqual(
      expect.arrayContaining([
        "read topic prefixed px.raw.",
        "read topic literal px.policy",
        "write topic prefixed px.deliver.",
        "write topic literal px.deadletter",
        "write topic literal px.ledger.counts",
        "write transactional-id prefixed px.router.",
        "read group prefixed px.router.",
      ]),
    );
    expect(r.filter((x) => x.startsWith("write") && (x.endsWith(" px.policy") || x.endsWith(" px.ledger")))).toEqual([]);
  });

  it("lets the regulator only read the ledger and the dead letters", () => {
    expect(rulesOf("px.regulator").filter((r) => r.includes(" topic "))).toEqual(
      ["describe topic literal px.deadletter", "describe topic literal px.ledger", "describe-configs topic literal px.ledger", "read topic literal px.deadletter", "read topic literal px.ledger"].sort(),
    );
  });

  it("sizes quotas from the parties file, 10 MiB/s in and 20 MiB/s out by default", () => {
    expect(plan.quotas).toEqual(
      expect.arrayContaining([
        { principal: "px.zto", producerByteRate: 10 * 1024 * 1024, consumerByteRate: 20 * 1024 * 1024 },
        { principal: "px.hive-box", producerByteRate: 2048, consumerByteRate: 4096 },
      ]),
    );
  });

  it("creates every party's ingress and delivery topic and the exchange's own", () => {
    const names = plan.topics.map((t) => t.topic).sort();
    expect(names).toEqual(
      ["px.raw.taobao.orders", "px.raw.zto.tracking", "px.raw.hive-box.locker", "px.deliver.taobao", "px.deliver.zto", "px.deliver.hive-box", "px.deadletter", "px.policy", "px.policy.versions", "px.policy.proposals", "px.policy.webhooks", "px.gateway.requests", "px.gateway.webhook-state", "px.ledger", "px.ledger.counts"].sort(),
    );
  });

  it("gives the policy service its compacted, one-partition webhook endpoints topic, which only it reads and writes", () => {
    expect(plan.topics.find((t) => t.topic === "px.policy.webhooks")).toEqual({ topic: "px.policy.webhooks", compacted: true, partitions: 1 });
    expect(rulesOf("px.policy").filter((r) => r.endsWith(" px.policy.webhooks"))).toEqual(["describe topic literal px.policy.webhooks", "read topic literal px.policy.webhooks", "write topic literal px.policy.webhooks"]);
    expect(plan.acls.filter((a) => a.name === "px.policy.webhooks" && a.principal !== "px.policy")).toEqual([]);
  });

  it("refuses a party file with bad ids, reserved ids, unknown kinds or tiny quotas, listing every problem", () => {
    try {
      provisionPlan({ prefix: "px", parties: { "Bad.Id": { kind: "courier" }, router: { kind: "courier" }, x: { kind: "airline" }, y: { kind: "courier", quota: { produceBytesPerSec: 10 } } }, ledgerTransactionalId: "l" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProvisionError);
      expect((err as ProvisionError).problems).toHaveLength(4);
    }
  });
});

describe("topicConfigDrift", () => {
  const policy = { topic: "px.policy", partitions: 1, retentionMs: -1, configs: { "retention.bytes": "-1", "cleanup.policy": "delete" } };
  it("names what a policy topic made compacted lacks, and nothing for one made to the spec", () => {
    expect(topicConfigDrift(policy, { "cleanup.policy": "compact", "retention.ms": "604800000", "retention.bytes": "-1" })).toEqual({ "cleanup.policy": "delete", "retention.ms": "-1" });
    expect(topicConfigDrift(policy, { "cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1", "segment.ms": "1" })).toEqual({});
    expect(topicConfigDrift({ topic: "px.policy.versions", compacted: true }, { "cleanup.policy": "delete" })).toEqual({ "cleanup.policy": "compact" });
  });
});

describe("the gateway's rights", () => {
  const plan = provisionPlan({ prefix: "px", parties: { taobao: { kind: "marketplace" }, zto: { kind: "courier" } }, ledgerTransactionalId: "px.policy.ledger-writer" });
  const of = (op: string, type = "topic") => plan.acls.filter((a) => a.principal === "px.gateway" && a.operation === op && a.resourceType === type).map((a) => `${a.patternType}:${a.name}`).sort();
  it("writes ingress topics, reads delivery topics and its own two topics, nothing else", () => {
    expect(of("write")).toEqual(["literal:px.gateway.requests", "literal:px.gateway.webhook-state", "prefixed:px.raw."]);
    expect(of("read")).toEqual(["literal:px.gateway.requests", "literal:px.gateway.webhook-state", "prefixed:px.deliver."]);
    expect(of("read", "group")).toEqual(["prefixed:px.gateway."]);
    expect(of("write", "transactional-id")).toEqual(["prefixed:px.gateway."]);
    expect(plan.acls.some((a) => a.principal === "px.gateway" && (a.name.startsWith("px.policy") || a.name.startsWith("px.ledger")))).toBe(false);
  });
});
