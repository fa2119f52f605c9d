import { describe, expect, it } from "vitest";
import { EVENT_TYPES, ValidationError, loadConfig, schemaJson } from "@parcel-exchange/shared";
import { SdkError } from "./errors.js";
import { prepareEvent, prepareEvents, resolveParty } from "./publisher.js";
import { LOCKER_ACTIONS, TRACKING_STATUSES, type LockerEventInput, type OrderCreatedInput, type TrackingEventInput } from "./types.js";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const order = (o: Partial<OrderCreatedInput> = {}): OrderCreatedInput => ({
  parcelId: "SF100001",
  platform: "shopmart",
  courier: "swiftpost",
  createdAt: 1_760_000_000_000,
  ...o,
});

const tracking = (o: Partial<TrackingEventInput> = {}): TrackingEventInput => ({
  parcelId: "SF100001",
  courier: "swiftpost",
  platform: "shopmart",
  eventTime: 1_760_000_100_000,
  status: "ACCEPTED",
  ...o,
});

const locker = (o: Partial<LockerEventInput> = {}): LockerEventInput => ({
  parcelId: "SF100001",
  locker: "boxnet",
  courier: "swiftpost",
  platform: "shopmart",
  eventTime: 1_760_000_200_000,
  action: "DEPOSITED",
  ...o,
});

/** The problems of a rejected event; fails the test when the event is accepted or fails otherwise. */
function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).problems;
  }
  throw new Error("expected a ValidationError, but the event was accepted");
}

describe("prepareEvent: completing valid events", () => {
  it("generates a UUID eventId when absent and keeps one that is given", () => {
    const a = prepareEvent("OrderCreated", order(), "shopmart");
    const b = prepareEvent("OrderCreated", order(), "shopmart");
    expect(a.eventId).toMatch(UUID_RE);
    expect(b.eventId).not.toBe(a.eventId);
    expect(prepareEvent("OrderCreated", order({ eventId: "evt-1" }), "shopmart").eventId).toBe("evt-1");
  });

  it("fills schema defaults (null) for absent nullable fields, nested records included, without touching the input", () => {
    const input = order({ recipientAddress: { province: "Guangdong", city: "Shenzhen", district: "Nanshan" } });
    const e = prepareEvent("OrderCreated", input, "shopmart");
    expect(e).toMatchObject({ locker: null, orderId: null, merchant: null, recipientName: null, recipientPhone: null, destinationCity: null });
    expect(e.recipientAddress).toEqual({ province: "Guangdong", city: "Shenzhen", district: "Nanshan", detail: null });
    expect(input).not.toHaveProperty("eventId");
    expect(input.recipientAddress).not.toHaveProperty("detail");
  });

  it("completes every event type to exactly the schema's fields", () => {
    const completed = {
      OrderCreated: prepareEvent("OrderCreated", order(), "shopmart"),
      TrackingEvent: prepareEvent("TrackingEvent", tracking(), "swiftpost"),
      LockerEvent: prepareEvent("LockerEvent", locker(), "boxnet"),
    };
    for (const t of EVENT_TYPES) {
      const fields = (schemaJson(t).fields as { name: string }[]).map((f) => f.name);
      expect(Object.keys(completed[t]).sort()).toEqual([...fields].sort());
    }
  });

  it("declares the same enum symbols as the schemas", () => {
    const symbolsOf = (t: "TrackingEvent" | "LockerEvent", field: string): unknown =>
      ((schemaJson(t).fields as { name: string; type: { symbols?: string[] } }[]).find((f) => f.name === field)?.type.symbols);
    expect([...TRACKING_STATUSES]).toEqual(symbolsOf("TrackingEvent", "status"));
    expect([...LOCKER_ACTIONS]).toEqual(symbolsOf("LockerEvent", "action"));
  });
});

describe("prepareEvent: schema validation", () => {
  it("lists every schema problem with its field path, nested ones included", () => {
    const bad = {
      ...order(),
      courier: 42,
      createdAt: 1.5,
      recipientName: 7,
      recipientAddress: { province: "Guangdong", city: 5, district: "Nanshan" },
    } as unknown as OrderCreatedInput;
    const problems = problemsOf(() => prepareEvent("OrderCreated", bad, "shopmart"));
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^courier: expected string, got a number$/),
        expect.stringMatching(/^createdAt: expected a whole number .*got a fractional number$/),
        expect.stringMatching(/^recipientName: expected null or string, got a number$/),
        expect.stringMatching(/^recipientAddress\.city: expected string, got a number$/),
      ]),
    );
  });

  it("reports missing required fields and unknown enum symbols", () => {
    const bad = { courier: "swiftpost", platform: "shopmart", status: "LOST" } as unknown as TrackingEventInput;
    const problems = problemsOf(() => prepareEvent("TrackingEvent", bad, "swiftpost"));
    expect(problems).toEqual(
      expect.arrayContaining([
        "parcelId: expected string, got nothing (the field is required)",
        expect.stringMatching(/^eventTime: expected a whole number \(long\), got nothing/),
        expect.stringMatching(/^status: expected one of ACCEPTED, .*RETURNED, got 'LOST'$/),
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  it("reports properties the schema does not declare (a misspelt field would otherwise be dropped silently)", () => {
    const bad = { ...tracking(), recipentPhone: "13800138000" } as unknown as TrackingEventInput;
    expect(problemsOf(() => prepareEvent("TrackingEvent", bad, "swiftpost"))).toEqual(["recipentPhone: is not a field of TrackingEvent"]);
  });

  it("does not echo field values (possibly personal data) in the problems", () => {
    const bad = { ...tracking(), recipientPhone: 13800138000 } as unknown as TrackingEventInput;
    const err = (() => {
      try {
        prepareEvent("TrackingEvent", bad, "swiftpost");
      } catch (e) {
        return e as ValidationError;
      }
      throw new Error("accepted");
    })();
    expect(err.problems).toEqual(["recipientPhone: expected null or string, got a number"]);
    expect(err.message).not.toContain("13800138000");
    expect(err.code).toBe("EVENT_INVALID");
  });

  it("rejects an event that is not an object", () => {
    expect(problemsOf(() => prepareEvent("LockerEvent", null as unknown as LockerEventInput, "boxnet"))).toEqual(["event: expected an object, got null"]);
  });
});

describe("prepareEvent: routing rules", () => {
  it("lets a party publish only as itself, for each event type", () => {
    expect(problemsOf(() => prepareEvent("OrderCreated", order({ platform: "othermart" }), "shopmart"))).toEqual([
      "platform: a party may only publish as itself; expected 'shopmart', got 'othermart'",
    ]);
    expect(problemsOf(() => prepareEvent("TrackingEvent", tracking(), "fastship"))).toEqual([
      "courier: a party may only publish as itself; expected 'fastship', got 'swiftpost'",
    ]);
    expect(problemsOf(() => prepareEvent("LockerEvent", locker(), "swiftpost"))).toEqual([
      "locker: a party may only publish as itself; expected 'swiftpost', got 'boxnet'",
    ]);
  });

  it("requires a non-empty eventId and parcelId", () => {
    expect(problemsOf(() => prepareEvent("OrderCreated", order({ eventId: "" }), "shopmart"))).toEqual(["eventId: must not be empty"]);
    expect(problemsOf(() => prepareEvent("TrackingEvent", tracking({ parcelId: "  " }), "swiftpost"))).toEqual(["parcelId: must not be empty"]);
  });

  it("requires platform on TrackingEvent and LockerEvent, whether null or left out", () => {
    expect(problemsOf(() => prepareEvent("TrackingEvent", tracking({ platform: null }), "swiftpost"))).toEqual([
      "platform: is required for routing (the marketplace the parcel came from)",
    ]);
    const noPlatform = { ...locker() } as Partial<LockerEventInput>;
    delete noPlatform.platform;
    expect(problemsOf(() => prepareEvent("LockerEvent", noPlatform as LockerEventInput, "boxnet"))).toEqual([
      "platform: is required for routing (the marketplace the parcel came from)",
    ]);
    expect(problemsOf(() => prepareEvent("LockerEvent", locker({ platform: "" }), "boxnet"))).toEqual(["platform: must not be empty"]);
  });

  it("allows OrderCreated without a locker (it is optional there)", () => {
    expect(prepareEvent("OrderCreated", order({ locker: null }), "shopmart").locker).toBeNull();
  });

  it("reports schema and routing problems together in one error", () => {
    const bad = { ...tracking({ courier: "fastship", parcelId: "", platform: null }), status: "LOST" } as unknown as TrackingEventInput;
    const problems = problemsOf(() => prepareEvent("TrackingEvent", bad, "swiftpost"));
    expect(problems).toHaveLength(4);
    expect(problems.map((p) => p.slice(0, p.indexOf(":"))).sort()).toEqual(["courier", "parcelId", "platform", "status"]);
  });
});

describe("prepareEvents (publishMany's validation)", () => {
  it("completes a valid mixed batch in order", () => {
    const out = prepareEvents(
      [
        { type: "OrderCreated", event: order({ platform: "jdx", courier: "jdx" }) },
        { type: "TrackingEvent", event: tracking({ courier: "jdx", platform: "jdx", status: "PICKED_UP" }) },
      ],
      "jdx",
    );
    expect(out.map((p) => p.type)).toEqual(["OrderCreated", "TrackingEvent"]);
    expect(out.every((p) => UUID_RE.test(p.event.eventId))).toBe(true);
    expect(out[1]?.event).toMatchObject({ status: "PICKED_UP", city: null });
  });

  it("rejects the whole batch, listing the problems of every bad event by index", () => {
    const problems = problemsOf(() =>
      prepareEvents(
        [
          { type: "TrackingEvent", event: tracking() },
          { type: "TrackingEvent", event: tracking({ platform: null }) },
          { type: "LockerEvent", event: locker() },
          { type: "Bogus" as "LockerEvent", event: locker() },
        ],
        "swiftpost",
      ),
    );
    expect(problems).toEqual([
      "events[1] (TrackingEvent) platform: is required for routing (the marketplace the parcel came from)",
      "events[2] (LockerEvent) locker: a party may only publish as itself; expected 'swiftpost', got 'boxnet'",
      "events[3] (Bogus) type: 'Bogus' is not one of OrderCreated, TrackingEvent, LockerEvent",
    ]);
  });
});

describe("resolveParty: who the publisher publishes as", () => {
  const withUser = (username?: string) =>
    loadConfig({ NODE_ENV: "test", PX_TOPIC_PREFIX: "px", ...(username === undefined ? {} : { KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: "pw" }) });
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(SdkError);
      return (err as SdkError).code;
    }
    return undefined;
  };

  it("takes the party given, without credentials", () => {
    expect(resolveParty("zto", withUser())).toBe("zto");
  });

  it("derives the party from the SASL username <prefix>.<party>", () => {
    expect(resolveParty(undefined, withUser("px.zto"))).toBe("zto");
    expect(resolveParty("zto", withUser("px.zto"))).toBe("zto");
  });

  it("refuses a party other than the credentials' (PARTY_MISMATCH)", () => {
    expect(codeOf(() => resolveParty("sf-express", withUser("px.zto")))).toBe("PARTY_MISMATCH");
  });

  it("ignores a username that names no party of this deployment (an operator's), when a party is given", () => {
    expect(resolveParty("zto", withUser("admin"))).toBe("zto");
    expect(resolveParty("zto", withUser("pxt.zto"))).toBe("zto");
  });

  it("refuses to guess (no party, no party username) and refuses ids that cannot name an ingress topic", () => {
    expect(codeOf(() => resolveParty(undefined, withUser()))).toBe("PARTY_INVALID");
    expect(codeOf(() => resolveParty(undefined, withUser("admin")))).toBe("PARTY_INVALID");
    for (const bad of ["", "Zto", "sf.express", "sf_express", "-zto"]) expect(codeOf(() => resolveParty(bad, withUser())), bad).toBe("PARTY_INVALID");
  });
});
