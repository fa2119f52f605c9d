/**
 * The Confluent-compatible schema registry: the kafkajs registry client for encoding, plus the few REST calls
 * it does not offer (subject compatibility, compatibility checks, schema by id with its custom attributes).
 */
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import type { Config } from "./config.js";
import { DependencyError, SchemaNotRegisteredError } from "./errors.js";
import { canonicalJson } from "./policy-bundle.js";
import { EVENT_TYPES, schemaJson, type EventType } from "./schemas.js";
import type { Topics } from "./topics.js";

export function createRegistryClient(config: Config): SchemaRegistry {
  const { url, username, password } = config.registry;
  return new SchemaRegistry({ host: url, ...(username ? { auth: { username, password: password ?? "" } } : {}) });
}

export class RegistryHttp {
  constructor(private readonly config: Config) {}

  private headers(): Record<string, string> {
    const h: Record<string, string> = { "content-type": "application/vnd.schemaregistry.v1+json" };
    const { username, password } = this.config.registry;
    if (username) h.authorization = `Basic ${Buffer.from(`${username}:${password ?? ""}`).toString("base64")}`;
    return h;
  }

  /** GET/POST/PUT against the registry. Returns undefined on 404; throws DependencyError on other failures. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    let res: Response;
    try {
      res = await fetch(`${this.config.registry.url}${path}`, {
        method,
        headers: this.headers(),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new DependencyError("schema registry", `${method} ${path} failed (${(err as Error).message}); is SCHEMA_REGISTRY_URL=${this.config.registry.url} reachable?`, { cause: err });
    }
    if (res.status === 404) return undefined;
    const text = await res.text();
    if (!res.ok) throw new DependencyError("schema registry", `${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  /** The schema JSON behind an id, or undefined when the registry does not know the id. */
  async schemaById(id: number): Promise<unknown> {
    const r = await this.request<{ schema: string; schemaType?: string }>("GET", `/schemas/ids/${id}`);
    if (r === undefined) return undefined;
    if (r.schemaType !== undefined && r.schemaType !== "AVRO") throw new Error(`schema ${id} is ${r.schemaType}, not AVRO`);
    return JSON.parse(r.schema) as unknown;
  }

  async setCompatibility(subject: string, level: "BACKWARD" | "FULL" | "NONE"): Promise<void> {
    await this.request("PUT", `/config/${encodeURIComponent(subject)}`, { compatibility: level });
  }

  /** Whether the schema may be registered under the subject (true when the subject is new). */
  async isCompatible(subject: string, schema: unknown): Promise<{ compatible: boolean; messages: string[] }> {
    const r = await this.request<{ is_compatible: boolean; messages?: string[] }>(
      "POST",
      `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`,
      { schema: JSON.stringify(schema), schemaType: "AVRO" },
    );
    if (r === undefined) return { compatible: true, messages: [] };
    return { compatible: r.is_compatible, messages: r.messages ?? [] };
  }
}

/**
 * Registers every event schema under its event type's subject (one per type, shared by all parties) with
 * BACKWARD compatibility and returns the schema id of each event type. Admin side: the exchange's provisioning
 * calls it; parties only look the ids up (lookupEventSchemaIds).
 */
export async function registerEventSchemas(config: Config, topics: Topics, client = createRegistryClient(config)): Promise<Record<EventType, number>> {
  const http = new RegistryHttp(config);
  const ids = {} as Record<EventType, number>;
  for (const t of EVENT_TYPES) {
    const subject = topics.subject(t);
    await http.setCompatibility(subject, "BACKWARD");
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(schemaJson(t)) }, { subject });
    ids[t] = id;
  }
  return ids;
}

/** One registered version of a subject, as GET /subjects/<subject>/versions/<version> answers it. */
export interface SubjectVersion {
  readonly version: number;
  readonly id: number;
  /** The schema as JSON text. */
  readonly schema: string;
  readonly schemaType?: string;
}

/** The read-only registry calls lookupEventSchemaIds makes (RegistryHttp has them). */
export type RegistryReader = Pick<RegistryHttp, "request">;

/**
 * Finds, without registering anything, the registry id of each event type's schema as this build has it: the
 * id of the subject's version whose schema equals the build's (sameSchema). Needs only read access to the
 * registry (GET /subjects/<subject>/versions and /subjects/<subject>/versions/<v>). Throws
 * SchemaNotRegisteredError when the subject or a matching version is missing.
 */
export async function lookupEventSchemaIds<T extends EventType = EventType>(
  config: Config,
  topics: Topics,
  client: RegistryReader = new RegistryHttp(config),
  types: readonly T[] = EVENT_TYPES as readonly EventType[] as readonly T[],
): Promise<Record<T, number>> {
  const ids = {} as Record<T, number>;
  for (const t of types) {
    const subject = topics.subject(t);
    const path = `/subjects/${encodeURIComponent(subject)}/versions`;
    const versions = await client.request<number[]>("GET", path);
    if (versions === undefined || versions.length === 0) throw new SchemaNotRegisteredError(t, subject, "no such subject");
    const found: SubjectVersion[] = [];
    for (const v of versions) {
      const r = await client.request<SubjectVersion>("GET", `${path}/${v}`);
      if (r !== undefined) found.push(r);
    }
    const match = findSchemaVersion(schemaJson(t), found);
    if (match === undefined) throw new SchemaNotRegisteredError(t, subject, `none of its ${versions.length} version(s) is this build's schema`);
    ids[t] = match.id;
  }
  return ids;
}

/** The newest version whose schema equals `expected` (sameSchema), or undefined. Pure. */
export function findSchemaVersion(expected: unknown, versions: readonly SubjectVersion[]): SubjectVersion | undefined {
  const want = canonicalSchema(expected);
  let best: SubjectVersion | undefined;
  for (const v of versions) {
    if (v.schemaType !== undefined && v.schemaType !== "AVRO") continue;
    let json: unknown;
    try {
      json = JSON.parse(v.schema);
    } catch {
      continue;
    }
    if (canonicalSchema(json) === want && (best === undefined || v.version > best.version)) best = v;
  }
  return best;
}

/**
 * Whether two Avro schemas (parsed JSON) are the same schema, custom attributes such as `dataClass`, docs and
 * defaults included, however a registry re-serialised them: key order, `{"type": "string"}` for `"string"`,
 * and a namespace attribute versus a full name do not count.
 */
export function sameSchema(a: unknown, b: unknown): boolean {
  return canonicalSchema(a) === canonicalSchema(b);
}

const PRIMITIVES = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);
const NAMED = new Set(["record", "error", "enum", "fixed"]);

function canonicalSchema(schema: unknown): string {
  return canonicalJson(normalize(schema, ""));
}

const fullName = (name: string, namespace: string): string => (name.includes(".") || namespace === "" ? name : `${namespace}.${name}`);
const namespaceOf = (full: string): string => (full.includes(".") ? full.slice(0, full.lastIndexOf(".")) : "");

/** The schema with names made full, namespaces dropped and primitive-only objects collapsed. */
function normalize(s: unknown, ns: string): unknown {
  if (typeof s === "string") return PRIMITIVES.has(s) ? s : fullName(s, ns);
  if (Array.isArray(s)) return s.map((x) => normalize(x, ns));
  if (s === null || typeof s !== "object") return s;
  const o = { ...(s as Record<string, unknown>) };
  const type = o.type;
  if (typeof type === "string" && PRIMITIVES.has(type) && Object.keys(o).length === 1) return type;
  if (typeof type === "string" && NAMED.has(type) && typeof o.name === "string") {
    const own = typeof o.namespace === "string" ? o.namespace : ns;
    const name = fullName(o.name, own);
    delete o.namespace;
    o.name = name;
    if (Array.isArray(o.fields)) {
      const inner = namespaceOf(name);
      o.fields = o.fields.map((f: unknown) => (f !== null && typeof f === "object" ? { ...(f as Record<string, unknown>), type: normalize((f as { type?: unknown }).type, inner) } : f));
    }
    return o;
  }
  if (type === "array") o.items = normalize(o.items, ns);
  if (type === "map") o.values = normalize(o.values, ns);
  if (typeof type === "object" && type !== null) o.type = normalize(type, ns);
  return o;
}

/** Registers one schema under a subject with BACKWARD compatibility (admin side); returns its id. */
export async function registerSchema(config: Config, subject: string, schema: unknown, client = createRegistryClient(config)): Promise<number> {
  await new RegistryHttp(config).setCompatibility(subject, "BACKWARD");
  const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject });
  return id;
}

/**
 * The id of `schema` under `subject`, found with read-only calls (a `readonly` registry user may make them);
 * undefined when the subject has no such version.
 */
export async function lookupSchemaId(reader: RegistryReader, subject: string, schema: unknown): Promise<number | undefined> {
  const path = `/subjects/${encodeURIComponent(subject)}/versions`;
  const versions = await reader.request<number[]>("GET", path);
  if (versions === undefined || versions.length === 0) return undefined;
  const found: SubjectVersion[] = [];
  for (const v of versions) {
    const r = await reader.request<SubjectVersion>("GET", `${path}/${v}`);
    if (r !== undefined) found.push(r);
  }
  return findSchemaVersion(schema, found)?.id;
}
