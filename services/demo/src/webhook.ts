/**
 * The demo's webhook receiver: Taobao takes its feed over HTTP. A small loopback server verifies every
 * delivery's Standard Webhooks signature with the `standardwebhooks` library, keeps the first copy of each
 * webhook-id, and the demo then checks that what arrived by webhook is, event for event and field for field,
 * what Taobao's Kafka subscriber received.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import type { CheckResult, Received } from "./verify.js";

export interface WebhookPayload {
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly policyVersion: string;
  readonly sourceEventId: string;
}

export class DemoReceiver {
  readonly got = new Map<string, WebhookPayload>();
  rejected = 0;
  secret = "";
  private server: Server | undefined;

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          const p = new Webhook(this.secret).verify(Buffer.concat(chunks).toString("utf8"), req.headers as Record<string, string>) as WebhookPayload;
          const id = String(req.headers["webhook-id"]);
          if (!this.got.has(id)) this.got.set(id, p);
          res.writeHead(204).end();
        } catch {
          this.rejected++;
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/px-webhook`;
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Every Kafka delivery to the party of the given types arrived by webhook too, with the same fields and policy version. */
export function checkWebhookFeed(party: string, types: readonly string[], received: readonly Received[], r: DemoReceiver): CheckResult {
  const byEvent = new Map([...r.got.values()].map((p) => [p.sourceEventId, p]));
  const want = received.filter((d) => d.party === party && types.includes(d.type));
  const problems: string[] = [];
  for (const d of want) {
    const w = byEvent.get(d.sourceEventId);
    if (w === undefined) problems.push(`${d.type} ${d.sourceEventId}: reached ${party} on Kafka but not by webhook`);
    else if (w.policyVersion !== d.policyVersion || JSON.stringify(w.data) !== JSON.stringify(d.event)) problems.push(`${d.type} ${d.sourceEventId}: the webhook copy differs from the Kafka delivery`);
  }
  if (r.rejected > 0) problems.push(`${r.rejected} webhook requests failed signature verification`);
  return { name: `${party}'s webhook feed equals its Kafka feed, every delivery signed`, ok: problems.length === 0 && want.length > 0, checked: want.length, problems };
}
