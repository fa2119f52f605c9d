/**
 * PII release quotas, per recipient, data class and (UTC) day, counted in Redis so that every router instance
 * shares them. The state (ok/over) is an input to the policy, which decides what changes past the quota.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../../shared/src/index.js";
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

/** Counters live under the topic prefix, so environments sharing a Redis do not share quotas. */
export const quotaKey = (prefix: string, day: string, recipient: string, dataClass: string): string => `${prefix}:quota:${day}:${recipient}:${dataClass}`;
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

  /** Adds a batch's releases to the shared counters and refreshes the state of the recipients concerned. */
  async record(releases: BatchResult["releases"]): Promise<void> {
    const day = utcDay(this.now());
    if (day !== this.day) {
      this.day = day;
      this.states = new Map();
      this.warned.clear();
    }
    if (releases.size === 0) return;
    const items = [...releases.values()];
    const pipe = this.redis.multi();
    for (const r of items) {
      const k = quotaKey(this.prefix, day, r.recipient, r.dataClass);
      pipe.incrby(k, r.n).expire(k, 2 * DAY_SECONDS);
    }
    const res = await pipe.exec();
    if (res === null) throw new Error("redis transaction for quota counters was discarded");
    items.forEach((r, i) => {
      const [err, total] = res[i * 2]!;
      if (err) throw err;
      if (r.limit === undefined) return;
      this.update(r.recipient, r.dataClass, Number(total), r.limit);
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
