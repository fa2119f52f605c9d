#!/usr/bin/env node
/**
 * Entry point of the `px` command-line client (see README.md, or run `px --help`).
 * Installed (@parcel-exchange/cli): `px <command> …` runs the built dist/px.js. In the repository: `npx px …` or
 * `npm run px -- …` (services/cli/bin/px.mjs runs this file under tsx).
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
