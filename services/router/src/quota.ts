/**
 * PII release quotas, per recipient, data class and (UTC) day, counted in Redis so that every router instance
 * shares them. The state (ok/over) is an input to the policy, which decides what changes past the quota.
 */
import type { Redis } from "ioredis";
import type { Logger } from "@parcel-exchange/shared";
import type { BatchResult, QuotaView } from "./core.js";

export interface QuotaEvents {
  onUsage(recipient: string, dataClass: string, used: number, limit: number): void;
}

interface RecipientState {
  sig: string;
  quota: Record<string, "ok" | "over">;
}

const OK: RecipientState = { sig: "", quota: {} };
const DAY_SECONDS = 86_400;

/**
 * Adds a batch's releases once: the batch's marker key is set only if absent, and the counters are incremented
 * only then, atomically with it. A batch that is counted again (a retry after Redis timed out, a replay) finds
 * its marker and adds nothing. Returns the counters' totals either way.
 * KEYS[1] = marker, KEYS[2..] = counters; ARGV[1] = TTL seconds, ARGV[2..] = increments.
 */
const COUNT_ONCE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  for i = 2, #KEYS do
    redis.call('INCRBY', KEYS[i], ARGV[i])
    redis.call('EXPIRE', KEYS[i], ARGV[1])
  end
end
local totals = {}
for i = 2, #KEYS do totals[i - 1] = tonumber(redis.call('GET', KEYS[i]) or '0') end
return totals
`;

/** Counters live under the topic prefix, so environments sharing a Redis do not share quotas. */
export const quotaKey = (prefix: string, day: string, recipient: string, dataClass: string): string => `${prefix}:quota:${day}:${recipient}:${dataClass}`;
/** Marks one committed batch as counted; `batch` names it uniquely (input topic, partition, committed offset). */
const quotaBatchKey = (prefix: string, batch: string): string => `${prefix}:quota:batch:${batch}`;
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export class QuotaTracker implements QuotaView {
  private states = new Map<string, RecipientState>();
  private warned = new Set<string>();
  private day: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly warnRatio: number,
    private readonly events: QuotaEvents,
    private readonly now: () => number = Date.now,
  ) {
    this.day = utcDay(now());
  }

  stateOf(recipient: string): RecipientState {
    return this.states.get(recipient) ?? OK;
  }

  /**
   * Adds a committed batch's releases to the shared counters, once per `batch` id however often it is called,
   * and refreshes the state of the recipients concerned. Safe to retry.
   */
  async record(batch: string, releases: BatchResult["releases"]): Promise<void> {
    const day = utcDay(this.now());
    if (day !== this.day) {
      this.day = day;
      this.states = new Map();
      this.warned.clear();
    }
    if (releases.size === 0) return;
    const items = [...releases.values()];
    const keys = [quotaBatchKey(this.prefix, batch), ...items.map((r) => quotaKey(this.prefix, day, r.recipient, r.dataClass))];
    const totals = (await this.redis.eval(COUNT_ONCE, keys.length, ...keys, 2 * DAY_SECONDS, ...items.map((r) => r.n))) as number[];
    items.forEach((r, i) => {
      if (r.limit === undefined) return;
      this.update(r.recipient, r.dataClass, Number(totals[i]), r.limit);
    });
  }

  private update(recipient: string, dataClass: string, used: number, limit: number): void {
    this.events.onUsage(recipient, dataClass, used, limit);
    const over = used >= limit;
    const wk = `${recipient}\u0000${dataClass}`;
    if (used >= limit * this.warnRatio && !this.warned.has(`${wk}\u0000${over}`)) {
      this.warned.add(`${wk}\u0000${over}`);
      this.log.warn({ party: recipient, dataClass, used, limit, over }, over ? "party is over its PII release quota for today" : "party is nearing its PII release quota for today");
    }
    const cur = this.states.get(recipient) ?? { sig: "", quota: {} };
    if ((cur.quota[dataClass] === "over") === over) return;
    const quota = { ...cur.quota };
    if (over) quota[dataClass] = "over";
    else delete quota[dataClass];
    const sig = Object.keys(quota).sort().join("+");
    this.states.set(recipient, { sig, quota });
  }
}
