import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import { checkEndpointUrl, EndpointRefusedError, isForbiddenAddress, pinnedLookup, type EndpointRules, type Resolver } from "./address.js";

const strict: EndpointRules = { allowHttp: false, allowPrivate: false };
const dev: EndpointRules = { allowHttp: true, allowPrivate: true };

describe("isForbiddenAddress", () => {
  it.each([
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3", "255.255.255.255", "224.0.0.1",
    "239.255.255.250", "240.0.0.1", "198.18.0.1", "198.19.255.255", "192.0.0.8", "192.0.2.1", "203.0.113.7",
    "::", "::1", "[::1]", "fe80::1", "fe80::1%eth0", "febf::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1",
    "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:7f00:1", "::ffff:169.254.169.254", "::127.0.0.1",
    "64:ff9b::10.0.0.1", "64:ff9b::7f00:1", "64:ff9b:1::1", "2002:7f00:1::", "2002:c0a8:101::1",
    "2001:db8::1", "2001:0:4136:e378::1", "100::1", "fec0::1",
    "not-an-ip", "", "1.2.3", "256.1.1.1", "example.com",
  ])("%s is forbidden", (ip) => expect(isForbiddenAddress(ip)).toBe(true));

  it.each([
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1",
    "192.167.255.255", "192.169.0.1", "198.17.255.255", "198.20.0.1", "169.253.255.255", "223.255.255.255",
    "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
  ])("%s is allowed", (ip) => expect(isForbiddenAddress(ip)).toBe(false));
});

describe("checkEndpointUrl", () => {
  const refused = (url: string, rules: EndpointRules, reason: string) => {
    try {
      checkEndpointUrl(url, rules);
    } catch (err) {
      expect(err).toBeInstanceOf(EndpointRefusedError);
      expect(err).toMatchObject({ code: "ENDPOINT_REFUSED", retriable: false, reason });
      return;
    }
    throw new Error(`${url} was accepted`);
  };

  it("accepts a public https URL", () => {
    expect(checkEndpointUrl("https://hooks.example.com/px?tenant=1", strict).hostname).toBe("hooks.example.com");
    expect(checkEndpointUrl("https://8.8.8.8:8443/in", strict).port).toBe("8443");
  });

  it.each([
    ["http://hooks.example.com/", "scheme"],
    ["ftp://hooks.example.com/", "scheme"],
    ["file:///etc/passwd", "scheme"],
    ["https://user:pw@hooks.example.com/", "credentials"],
    ["https://token@hooks.example.com/", "credentials"],
    ["https://127.0.0.1/", "forbidden_address"],
    ["https://2130706433/", "forbidden_address"],
    ["https://0x7f.1/", "forbidden_address"],
    ["https://[::1]/", "forbidden_address"],
    ["https://[::ffff:169.254.169.254]/", "forbidden_address"],
    ["https://169.254.169.254/latest/meta-data", "forbidden_address"],
    ["https://localhost/", "forbidden_address"],
    ["https://api.localhost/", "forbidden_address"],
    ["not a url", "invalid_url"],
  ])("refuses %s (%s)", (url, reason) => refused(url, strict, reason));

  it("lets local development use http and loopback, never credentials", () => {
    expect(checkEndpointUrl("http://127.0.0.1:8080/hook", dev).port).toBe("8080");
    refused("http://127.0.0.1/", { allowHttp: false, allowPrivate: true }, "scheme");
    refused("http://127.0.0.1/", { allowHttp: true, allowPrivate: false }, "forbidden_address");
    refused("http://a:b@127.0.0.1/", dev, "credentials");
  });
});

describe("pinnedLookup", () => {
  const fixed = (...ips: string[]): Resolver => async () => ips.map((address): LookupAddress => ({ address, family: address.includes(":") ? 6 : 4 }));
  const run = (rules: EndpointRules, resolver: Resolver, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) =>
      pinnedLookup(rules, resolver)("hooks.example.com", { all }, (err, address, family) => resolve({ err, address, family })),
    );

  it("hands over the checked public addresses in the form asked for", async () => {
    const r = fixed("93.184.216.34", "2606:4700::1");
    expect(await run(strict, r, true)).toMatchObject({ err: null, address: [{ address: "93.184.216.34", family: 4 }, { address: "2606:4700::1", family: 6 }] });
    expect(await run(strict, r, false)).toMatchObject({ err: null, address: "93.184.216.34", family: 4 });
  });

  it("refuses a name when any of its addresses is forbidden", async () => {
    for (const r of [fixed("10.0.0.5"), fixed("93.184.216.34", "127.0.0.1"), fixed("::ffff:192.168.0.1")]) {
      const { err } = await run(strict, r, true);
      expect(err).toBeInstanceOf(EndpointRefusedError);
      expect(err).toMatchObject({ reason: "forbidden_address" });
    }
  });

  it("allows internal addresses only when allowPrivate", async () => {
    expect(await run(dev, fixed("127.0.0.1"), false)).toMatchObject({ err: null, address: "127.0.0.1" });
  });

  it("passes resolution errors on and refuses an empty answer", async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND hooks.example.com"), { code: "ENOTFOUND" });
    };
    expect((await run(strict, failing, false)).err).toMatchObject({ code: "ENOTFOUND" });
    expect((await run(strict, fixed(), false)).err).toMatchObject({ reason: "unresolvable" });
  });

  it("asks the resolver for the family Node asks for", async () => {
    const seen: number[] = [];
    const spy: Resolver = async (_h, family) => (seen.push(family), [{ address: "2606:4700::1", family: 6 }]);
    await new Promise<void>((resolve) => pinnedLookup(strict, spy)("h", { family: 6 }, () => resolve()));
    expect(seen).toEqual([6]);
  });
});
