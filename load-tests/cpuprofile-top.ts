/**
 * Top functions by self time in a V8 .cpuprofile (from `node --cpu-prof`).
 *
 *   npx tsx load-tests/cpuprofile-top.ts <file.cpuprofile> [--top 10] [--from µs --to µs]
 *
 * --from/--to restrict the samples to a window on the profile's clock (the router-vs-pipe benchmark prints a
 * "phase window" per phase on that clock), so one phase can be looked at without the set-up around it.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface Node { id: number; callFrame: CallFrame }
interface Profile { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "10" }, from: { type: "string" }, to: { type: "string" } } });
const file = positionals[0];
if (!file) {
  console.error("usage: cpuprofile-top.ts <file.cpuprofile> [--top 10] [--from µs --to µs]");
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, "utf8")) as Profile;
const from = values.from !== undefined ? Number(values.from) : -Infinity;
const to = values.to !== undefined ? Number(values.to) : Infinity;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let t = prof.startTime;
let total = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  t += dt;
  if (t < from || t > to) continue;
  const n = byId.get(prof.samples[i]!);
  if (!n) continue;
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^file:\/\//, "").replace(process.cwd() + "/", "")}:${f.lineNumber + 1}` : "";
  const key = `${f.functionName || "(anonymous)"}\t${where}`;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
}
const idle = [...self].filter(([k]) => k.startsWith("(idle)")).reduce((a, [, v]) => a + v, 0);
console.log(`window ${((to === Infinity ? t : to) - (from === -Infinity ? prof.startTime : from)) / 1e6} s; sampled ${(total / 1e6).toFixed(2)} s, of which idle ${(idle / 1e6).toFixed(2)} s`);
console.log("| # | self ms | self % (of busy) | function | location |");
console.log("| ---: | ---: | ---: | --- | --- |");
const busy = total - idle;
[...self]
  .filter(([k]) => !k.startsWith("(idle)"))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(values.top))
  .forEach(([k, v], i) => {
    const [fn, loc] = k.split("\t");
    console.log(`| ${i + 1} | ${(v / 1000).toFixed(0)} | ${((100 * v) / busy).toFixed(1)} | ${fn} | ${loc} |`);
  });
