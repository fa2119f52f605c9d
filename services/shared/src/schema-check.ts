/**
 * The schema check: every released version of an event schema (schemas/avro/released/<Type>/v<N>.avsc) is
 * registered in order under a scratch subject with BACKWARD compatibility, then the registry is asked whether
 * the working copy (schemas/avro/<Type>.avsc) may follow. A change the registry would reject fails the check.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SchemaType } from "@kafkajs/confluent-schema-registry";
import type { Config } from "./config.js";
import { createRegistryClient, RegistryHttp } from "./registry.js";
import { EVENT_TYPES, SCHEMA_DIR, schemaJson, type EventType } from "./schemas.js";

export interface SchemaCheckResult {
  readonly eventType: EventType;
  readonly releases: number;
  readonly compatible: boolean;
  readonly messages: readonly string[];
}

export function releasedVersions(eventType: EventType): unknown[] {
  const dir = join(SCHEMA_DIR, "released", eventType);
  return readdirSync(dir)
    .filter((f) => /^v\d+\.avsc$/.test(f))
    .sort((a, b) => Number(a.slice(1, -5)) - Number(b.slice(1, -5)))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as unknown);
}

export async function checkSchemaCompatibility(config: Config, scratchPrefix: string, candidate: (t: EventType) => unknown = schemaJson): Promise<SchemaCheckResult[]> {
  const http = new RegistryHttp(config);
  const client = createRegistryClient(config);
  const out: SchemaCheckResult[] = [];
  for (const t of EVENT_TYPES) {
    const subject = `${scratchPrefix}.${t}-value`;
    await http.setCompatibility(subject, "BACKWARD");
    const releases = releasedVersions(t);
    for (const r of releases) await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(r) }, { subject });
    const { compatible, messages } = await http.isCompatible(subject, candidate(t));
    out.push({ eventType: t, releases: releases.length, compatible, messages });
  }
  return out;
}
