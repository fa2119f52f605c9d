// Verified with the standardwebhooks library, not with our own code: what a receiver would run.
import { describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { newWebhookSecret } from "@parcel-exchange/shared";
import { signatureHeader, webhookHeaders } from "./signature.js";

const body = JSON.stringify({ type: "TrackingEvent", event: { parcelId: "SF1234567890", status: "DELIVERED" } });
const now = () => Math.floor(Date.now() / 1000);

describe("webhook signature", () => {
  it("is accepted by the Standard Webhooks verifier", () => {
    const secret = newWebhookSecret();
    const h = webhookHeaders([secret], "msg_2b7f", now(), body);
    expect(h["content-type"]).toBe("application/json");
    expect(h["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, h)).toEqual(JSON.parse(body));
  });

  it("during a rotation carries two signatures, each accepted on its own", () => {
    const [oldS, newS] = [newWebhookSecret(), newWebhookSecret()];
    const h = webhookHeaders([oldS, newS], "msg_rot", now(), body);
    expect(h["webhook-signature"].split(" ")).toHaveLength(2);
    expect(() => new Webhook(oldS).verify(body, h)).not.toThrow();
    expect(() => new Webhook(newS).verify(body, h)).not.toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, h)).toThrow();
  });

  it("is rejected for a tampered body, a stale timestamp or the wrong secret", () => {
    const secret = newWebhookSecret();
    const h = webhookHeaders([secret], "msg_1", now(), body);
    expect(() => new Webhook(secret).verify(body.replace("DELIVERED", "RETURNED"), h)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...h, "webhook-id": "msg_2" })).toThrow();
    const stale = webhookHeaders([secret], "msg_1", now() - 6 * 60, body);
    expect(() => new Webhook(secret).verify(body, stale)).toThrow(/timestamp/i);
    expect(() => new Webhook(newWebhookSecret()).verify(body, h)).toThrow();
  });

  it("signs exactly id.timestamp.body, so it matches the library's own signer", () => {
    const secret = newWebhookSecret();
    const ts = 1_700_000_000;
    expect(signatureHeader([secret], "msg_x", ts, body)).toBe(new Webhook(secret).sign("msg_x", new Date(ts * 1000), body));
  });

  it("refuses no secret, a fractional timestamp and a malformed secret", () => {
    expect(() => signatureHeader([], "m", now(), body)).toThrow(TypeError);
    expect(() => signatureHeader([newWebhookSecret()], "m", 1.5, body)).toThrow(TypeError);
    expect(() => signatureHeader(["not-a-secret"], "m", now(), body)).toThrow(TypeError);
  });
});
