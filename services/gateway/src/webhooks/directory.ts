/**
 * Which endpoints the gateway delivers to: the policy service's list of enabled endpoints with their secrets
 * (`GET /v1/webhooks/targets`, gateway role only), asked for every PX_GATEWAY_ENDPOINTS_REFRESH_MS. A new
 * endpoint gets a dispatcher, a changed one its new registration (rotated secrets), one no longer listed
 * (disabled, deleted) is stopped. While the policy service cannot be reached the last list stays in use, and
 * /healthz says since when it is stale.
 */
import { API_ROUTES, apiPath, type ApiResponses, type WebhookTarget } from "@parcel-exchange/policy-api";
import type { Config, Logger } from "@parcel-exchange/shared";
import type { GatewayMetrics } from "../metrics.js";
import { EndpointDispatcher, type DispatcherDeps } from "./dispatcher.js";

export class WebhookDirectory {
  private readonly running = new Map<string, EndpointDispatcher>();
  private timer: NodeJS.Timeout | undefined;
  private lastOk = 0;
  private lastError: string | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly config: Config,
    private readonly deps: Omit<DispatcherDeps, "disable">,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {}

  /** Loads the list once (failing when the policy service cannot be asked at all), then refreshes it. */
  async start(): Promise<void> {
    if (this.config.gateway.policyKey === "") {
      this.log.warn("PX_GATEWAY_POLICY_KEY is not set: no webhooks are delivered (set it to the gateway's key of the policy service's users file)");
      return;
    }
    await this.refresh();
    const tick = (): void => {
      this.timer = setTimeout(() => {
        void this.refresh().finally(() => {
          if (!this.closed) tick();
        });
      }, this.config.gateway.endpointsRefreshMs);
    };
    tick();
  }

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const res = await fetch(new URL(path, this.config.policyService.url), {
      method,
      headers: { authorization: `Bearer ${this.config.gateway.policyKey}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`the policy service answered ${method} ${path} with ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  /** Asks for the list now (also used by tests and after a registration to avoid waiting for the next tick). */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    let targets: ApiResponses["webhookTargets"];
    try {
      targets = await this.call<ApiResponses["webhookTargets"]>("GET", API_ROUTES.webhookTargets.path);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.warn({ err }, "reading the webhook endpoints failed; the last list stays in use");
      if (this.lastOk === 0) throw err;
      return;
    }
    this.lastOk = Date.now();
    this.lastError = undefined;
    const seen = new Set<string>();
    for (const t of targets) {
      if (t.status !== "enabled" || t.secrets.length === 0) continue;
      seen.add(t.id);
      const d = this.running.get(t.id);
      if (d !== undefined) d.update(t);
      else this.launch(t);
    }
    for (const [id, d] of this.running) {
      if (!seen.has(id)) {
        this.running.delete(id);
        void d.stop();
        this.log.info({ endpoint: id }, "webhook endpoint no longer enabled; its deliveries stop");
      }
    }
    this.metrics.endpoints.set(this.running.size);
  }

  private launch(t: WebhookTarget): void {
    const d = new EndpointDispatcher(t, {
      ...this.deps,
      disable: async (id, reason) => {
        await this.call("POST", apiPath("disableWebhook", { id }), { reason });
        this.running.delete(id);
        this.metrics.endpoints.set(this.running.size);
        setImmediate(() => void d.stop()); // not awaited: this runs inside the dispatcher's own batch
      },
    });
    this.running.set(t.id, d);
    this.log.info({ endpoint: t.id, party: t.party, eventTypes: t.eventTypes }, "delivering to webhook endpoint");
    d.start().catch((err: unknown) => {
      this.log.error({ err, endpoint: t.id }, "the webhook dispatcher failed; it is started again at the next refresh");
      this.running.delete(t.id);
      void d.stop();
    });
  }

  /** Endpoints delivered to, and whether the list is fresh (for /healthz). */
  health(): { ok: boolean; endpoints: number; listAgeMs: number | null; error?: string } {
    const age = this.lastOk === 0 ? null : Date.now() - this.lastOk;
    const stale = this.config.gateway.policyKey !== "" && (age === null || age > Math.max(60_000, 10 * this.config.gateway.endpointsRefreshMs));
    return { ok: !stale, endpoints: this.running.size, listAgeMs: age, ...(this.lastError !== undefined ? { error: this.lastError } : {}) };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.all([...this.running.values()].map((d) => d.stop()));
    this.running.clear();
  }
}
