// Against a real node:http server on 127.0.0.1 (so the rules allow http and private addresses).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sendWebhook } from "./sender.js";

const dev = { allowHttp: true, allowPrivate: true };
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function listen(handler: Handler): Promise<{ server: Server; url: string; hits: { path: string; body: string; headers: IncomingMessage["headers"] }[] }> {
  const hits: { path: string; body: string; headers: IncomingMessage["headers"] }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      hits.push({ path: req.url ?? "", body, headers: req.headers });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

let main: Awaited<ReturnType<typeof listen>>;
let target: Awaited<ReturnType<typeof listen>>;
let respond: Handler = (_q, res) => res.end();

beforeAll(async () => {
  main = await listen((q, res, b) => respond(q, res, b));
  target = await listen((_q, res) => res.end("redirect target"));
});
afterEach(() => {
  main.hits.length = 0;
  target.hits.length = 0;
});
afterAll(() => {
  for (const s of [main.server, target.server]) {
    s.closeAllConnections();
    s.close();
  }
});

const body = JSON.stringify({ parcelId: "SF1", status: "DELIVERED" });
const send = (path: string, extra: Partial<Parameters<typeof sendWebhook>[0]> = {}) =>
  sendWebhook({ url: main.url + path, headers: { "webhook-id": "msg_1", "content-type": "application/json" }, body, timeoutMs: 2000, rules: dev, ...extra });

describe("sendWebhook", () => {
  it("delivers on 200 and POSTs the body and headers", async () => {
    respond = (_q, res) => res.end("ok");
    const r = await send("/hook");
    expect(r).toMatchObject({ outcome: "delivered", status: 200 });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect(main.hits).toEqual([expect.objectContaining({ path: "/hook", body })]);
    expect(main.hits[0]!.headers).toMatchObject({ "webhook-id": "msg_1", "content-type": "application/json", "content-length": String(body.length) });
  });

  it("retries on 500", async () => {
    respond = (_q, res) => res.writeHead(500).end("boom");
    expect(await send("/")).toMatchObject({ outcome: "retry", status: 500 });
  });

  it("does not follow a redirect", async () => {
    respond = (_q, res) => res.writeHead(302, { location: `${target.url}/elsewhere` }).end();
    expect(await send("/")).toMatchObject({ outcome: "retry", status: 302 });
    await new Promise((r) => setTimeout(r, 100));
    expect(target.hits).toHaveLength(0);
  });

  it("disables on 410 Gone", async () => {
    respond = (_q, res) => res.writeHead(410).end();
    expect(await send("/")).toMatchObject({ outcome: "disable", status: 410 });
  });

  it("reads Retry-After on 429", async () => {
    respond = (_q, res) => res.writeHead(429, { "retry-after": "7" }).end();
    expect(await send("/")).toMatchObject({ outcome: "retry", status: 429, retryAfterMs: 7000 });
  });

  it("reads no more than 64 KiB of a huge response", async () => {
    respond = (_q, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 120);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
      res.on("error", () => {});
    };
    expect(await send("/")).toMatchObject({ outcome: "delivered", status: 200 });
  });

  it("gives up on a slow server at the timeout", async () => {
    respond = () => {}; // never answers
    const t0 = Date.now();
    const r = await send("/", { timeoutMs: 300 });
    expect(r).toMatchObject({ outcome: "retry", error: "timed out after 300 ms" });
    expect(r.status).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(300 + 500);
  });

  it("times out a server that sends headers but trickles the body", async () => {
    respond = (_q, res) => {
      res.writeHead(200);
      res.write("x");
    };
    const r = await send("/", { timeoutMs: 300 });
    expect(r).toMatchObject({ outcome: "retry", error: "timed out after 300 ms" });
  });

  it("retries on a refused connection, without payload values in the error", async () => {
    const closed = await listen(() => {});
    const url = closed.url;
    await new Promise((r) => closed.server.close(r));
    const r = await sendWebhook({ url, headers: {}, body, timeoutMs: 2000, rules: dev });
    expect(r.outcome).toBe("retry");
    expect(r.error).toMatch(/ECONNREFUSED/);
    expect(r.error).not.toContain("SF1");
  });

  it("disables a loopback endpoint when private addresses are not allowed, without a request", async () => {
    for (const url of [main.url + "/", main.url.replace("127.0.0.1", "localhost") + "/"]) {
      const r = await sendWebhook({ url, headers: {}, body, timeoutMs: 2000, rules: { allowHttp: true, allowPrivate: false } });
      expect(r.outcome).toBe("disable");
      expect(r.error).toMatch(/refused/);
    }
    expect(main.hits).toHaveLength(0);
  });

  it("connects only to the address the pinned lookup checked", async () => {
    const port = new URL(main.url).port;
    const resolver = async () => [{ address: "127.0.0.1", family: 4 }];
    const url = `http://hooks.example.test:${port}/pinned`;
    const refused = await sendWebhook({ url, headers: {}, body, timeoutMs: 2000, rules: { allowHttp: true, allowPrivate: false }, resolver });
    expect(refused).toMatchObject({ outcome: "disable", error: expect.stringMatching(/resolves to 127\.0\.0\.1/) });
    expect(main.hits).toHaveLength(0);
    respond = (_q, res) => res.end();
    expect(await sendWebhook({ url, headers: {}, body, timeoutMs: 2000, rules: dev, resolver })).toMatchObject({ outcome: "delivered" });
    expect(main.hits).toEqual([expect.objectContaining({ path: "/pinned" })]);
  });

  it("disables an endpoint with a forbidden scheme", async () => {
    expect(await sendWebhook({ url: "ftp://example.com/", headers: {}, body, timeoutMs: 100, rules: dev })).toMatchObject({ outcome: "disable" });
  });
});
