// prepack / postpack of @parcel-exchange/shared (run in its folder): the package carries the exchange's .avsc
// files, which live at the repository's top level (schemas/avro); `copy` puts them into the package for
// `npm pack`, `remove` takes them out again so the sources keep one copy.
import { cpSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const here = join(process.cwd(), "schemas");
rmSync(here, { recursive: true, force: true });
if (process.argv[2] === "copy") cpSync(join(repo, "schemas", "avro"), join(here, "avro"), { recursive: true });
