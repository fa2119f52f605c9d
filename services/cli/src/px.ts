/**
 * Entry point of the `px` command-line client (see README.md, or run `px --help`).
 * Usage: node --import tsx services/cli/src/px.ts <command> … — or `npx px …` / `npm run px -- …`.
 */
import { main } from "./main.js";

const interrupted = new Promise<void>((resolve) => {
  process.once("SIGINT", () => resolve());
  process.once("SIGTERM", () => resolve());
});

const code = await main(process.argv.slice(2), process.env, {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  stderr: process.stderr,
  interrupted,
});
// Kafka clients and timers may keep the event loop alive; leave once the output is flushed.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
