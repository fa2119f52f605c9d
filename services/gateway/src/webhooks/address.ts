/**
 * SSRF guard for webhook endpoints. A party registers a URL and the gateway POSTs to it from inside the
 * exchange's network, so a URL naming (or resolving to) loopback, private, link-local or metadata addresses
 * would let a party probe or attack internal services. The guard works at two points:
 *
 * - `checkEndpointUrl` when an endpoint is registered and before each attempt: scheme, credentials, and IP
 *   literals (WHATWG URL parsing has already turned `http://2130706433/` or `0x7f.1` into 127.0.0.1);
 * - `pinnedLookup` as the request's `lookup`: the name is resolved once, every address is checked, and the
 *   socket connects to exactly the checked address. There is no second resolution, so no DNS-rebinding window.
 *
 * Anything that is not a well-formed IP address counts as forbidden: the guard fails closed.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { PxError } from "@parcel-exchange/shared";

export const WEBHOOK_ERROR_CODES = ["ENDPOINT_REFUSED"] as const;
export type WebhookErrorCode = (typeof WEBHOOK_ERROR_CODES)[number];

export type RefusalReason = "invalid_url" | "scheme" | "credentials" | "forbidden_address" | "unresolvable";

/** The gateway will not deliver to this endpoint. Not retriable: the endpoint must be changed. */
export class EndpointRefusedError extends PxError<WebhookErrorCode> {
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string, opts: { cause?: unknown } = {}) {
    super("ENDPOINT_REFUSED", `webhook endpoint refused: ${message}`, { retriable: false, cause: opts.cause });
    this.reason = reason;
  }
}

export interface EndpointRules {
  /** Allow plain http: URLs (local development only). */
  allowHttp: boolean;
  /** Allow loopback, private and other internal addresses (local development and tests only). */
  allowPrivate: boolean;
}

type Cidr4 = readonly [base: number, bits: number];

const v4 = (s: string): number => s.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);

/** IPv4 ranges no webhook may reach (RFC 6890 special-purpose registry, less the globally reachable ones). */
const FORBIDDEN_V4: readonly Cidr4[] = [
  ["0.0.0.0", 8], // "this network", including the unspecified 0.0.0.0
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, including cloud metadata 169.254.169.254
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation (TEST-NET-1)
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation (TEST-NET-2)
  ["203.0.113.0", 24], // documentation (TEST-NET-3)
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, including the broadcast 255.255.255.255
].map(([ip, bits]) => [v4(ip as string), bits as number] as const);

function inV4([base, bits]: Cidr4, n: number): boolean {
  const size = 2 ** (32 - bits);
  return Math.floor(n / size) === Math.floor(base / size);
}

function isForbiddenV4(n: number): boolean {
  return FORBIDDEN_V4.some((c) => inV4(c, n));
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function v6Groups(ip: string): number[] | undefined {
  let s = ip.toLowerCase();
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (isIP(s) !== 6) return undefined;
  // A dotted IPv4 tail becomes two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted?.[1] !== undefined) {
    const n = v4(dotted[1]);
    s = `${s.slice(0, dotted.index)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":") : [];
  const t = tail === undefined ? [] : tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill("0");
  const groups = [...h, ...fill, ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

function isForbiddenV6(g: number[]): boolean {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, x = 0, y = 0] = g;
  const embedded = x * 65536 + y;
  // ::/96 (unspecified, loopback, deprecated IPv4-compatible) and ::ffff:0:0/96 (IPv4-mapped, checked as IPv4).
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0) {
    if (f === 0) return true;
    if (f === 0xffff) return isForbiddenV4(embedded);
  }
  if (a === 0x64 && b === 0xff9b) {
    if (c === 0 && d === 0 && e === 0 && f === 0) return isForbiddenV4(embedded); // NAT64 64:ff9b::/96
    return true; // 64:ff9b:1::/48, local-use NAT64
  }
  if (a === 0x2002) return isForbiddenV4(b * 65536 + c); // 6to4 carries an IPv4 address in bits 16-47
  if (a === 0x2001 && b === 0) return true; // Teredo: the embedded addresses are obfuscated, refuse outright
  if (a === 0x2001 && b === 0x0db8) return true; // documentation
  if (a === 0x0100 && b === 0 && c === 0 && d === 0) return true; // discard-only 100::/64
  if ((a & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((a & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((a & 0xffc0) === 0xfec0) return true; // deprecated site-local fec0::/10
  if ((a & 0xff00) === 0xff00) return true; // multicast ff00::/8
  return false;
}

/** Whether a webhook must not connect to this IPv4 or IPv6 address. Not an IP address at all: true. */
export function isForbiddenAddress(ip: string): boolean {
  const bare = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  if (isIP(bare) === 4) return isForbiddenV4(v4(bare));
  const g = v6Groups(bare);
  return g === undefined ? true : isForbiddenV6(g);
}

/** The URL of a webhook endpoint, checked for what can be checked without resolving its name. */
export function checkEndpointUrl(url: string, rules: EndpointRules): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new EndpointRefusedError("invalid_url", "not an absolute URL", { cause: err });
  }
  if (u.protocol !== "https:" && !(u.protocol === "http:" && rules.allowHttp)) {
    throw new EndpointRefusedError("scheme", `${u.protocol} is not allowed; use an https: URL`);
  }
  if (u.username !== "" || u.password !== "") {
    throw new EndpointRefusedError("credentials", "credentials in the URL are not allowed; the signature authenticates the sender");
  }
  if (!rules.allowPrivate) {
    const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
    if (isIP(host) !== 0 && isForbiddenAddress(host)) {
      throw new EndpointRefusedError("forbidden_address", `${host} is a loopback, private or reserved address`);
    }
    if (host === "localhost" || host.endsWith(".localhost")) {
      throw new EndpointRefusedError("forbidden_address", `${host} names the gateway's own host`);
    }
  }
  return u;
}

/** Resolves a name to all its addresses (dns.lookup with all: true, by default). */
export type Resolver = (hostname: string, family: number) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname, family) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, family }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/**
 * A `lookup` for `http.request`: resolves the name once, refuses when any address is forbidden (unless
 * allowPrivate: a name with one public and one private address is refused, as the connection could go
 * to either), and hands Node exactly the checked addresses to connect to.
 */
export function pinnedLookup(rules: EndpointRules, resolver: Resolver = systemResolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    const family = typeof options.family === "number" ? options.family : options.family === "IPv6" ? 6 : options.family === "IPv4" ? 4 : 0;
    resolver(hostname, family).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(new EndpointRefusedError("unresolvable", `${hostname} has no address`), "", 0);
          return;
        }
        const bad = rules.allowPrivate ? undefined : addresses.find((a) => isForbiddenAddress(a.address));
        if (bad !== undefined) {
          callback(new EndpointRefusedError("forbidden_address", `${hostname} resolves to ${bad.address}, a loopback, private or reserved address`), "", 0);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, "", 0),
    );
  };
}
