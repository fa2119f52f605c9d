/**
 * Writer schemas by id, fetched once from the registry and kept. The router reads data classes from the
 * writer schema, so a new field is governed by its class as soon as its schema is registered.
 */
import { describeSchema, type SchemaInfo } from "@parcel-exchange/shared";

export interface SchemaSource {
  /** The schema JSON for an id, or undefined when the registry does not know it. Throws when unreachable. */
  schemaById(id: number): Promise<unknown>;
}

export type CatalogEntry = { readonly ok: true; readonly info: SchemaInfo } | { readonly ok: false; readonly reason: "unknown_schema" | "unknown_event_type"; readonly detail: string };

export class SchemaCatalog {
  private readonly entries = new Map<number, CatalogEntry>();
  private readonly missAt = new Map<number, number>();

  constructor(
    private readonly source: SchemaSource,
    private readonly negativeTtlMs = 60_000,
  ) {}

  get(id: number): CatalogEntry | undefined {
    return this.entries.get(id);
  }

  /** Loads the ids not yet known (and unknown ones whose negative entry expired). */
  async prefetch(ids: Iterable<number>): Promise<void> {
    const now = Date.now();
    const todo: number[] = [];
    for (const id of ids) {
      const e = this.entries.get(id);
      if (e === undefined || (!e.ok && e.reason === "unknown_schema" && now - (this.missAt.get(id) ?? 0) > this.negativeTtlMs)) todo.push(id);
    }
    await Promise.all(
      [...new Set(todo)].map(async (id) => {
        const json = await this.source.schemaById(id);
        if (json === undefined) {
          this.entries.set(id, { ok: false, reason: "unknown_schema", detail: `schema id ${id} is not in the registry` });
          this.missAt.set(id, now);
          return;
        }
        try {
          this.entries.set(id, { ok: true, info: describeSchema(json) });
        } catch (err) {
          this.entries.set(id, { ok: false, reason: "unknown_event_type", detail: `schema id ${id}: ${(err as Error).message}` });
        }
      }),
    );
  }
}
