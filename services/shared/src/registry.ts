/**
 * The Confluent-compatible schema registry: the kafkajs registry client for encoding, plus the few REST calls
 * it does not offer (subject compatibility, compatibility checks, schema by id with its custom attributes).
 */
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import type { Config } from "./config.js";
import { DependencyError } from "./errors.js";
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

export const subjectOf = (topic: string): string => `${topic}-value`;

/**
 * Registers every event schema under its raw topic's subject (TopicNameStrategy) with BACKWARD
 * compatibility and returns the schema id of each event type.
 */
export async function registerEventSchemas(config: Config, topics: Topics, client = createRegistryClient(config)): Promise<Record<EventType, number>> {
  const http = new RegistryHttp(config);
  const ids = {} as Record<EventType, number>;
  for (const t of EVENT_TYPES) {
    const subject = subjectOf(topics.raw[t]);
    await http.setCompatibility(subject, "BACKWARD");
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(schemaJson(t)) }, { subject });
    ids[t] = id;
  }
  return ids;
}
