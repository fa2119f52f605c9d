/**
 * The webhook endpoints parties register: kept sealed on a compacted topic (state.ts), each change recorded in
 * the ledger first (`webhook.created`, `webhook.secret_rotated`, `webhook.disabled`, `webhook.enabled`, with
 * the secrets' fingerprints, never a secret), then the record referring to that entry. At start a record
 * counts only when it refers to the newest ledger entry about its endpoint and agrees with it.
 *
 * A rotation adds a new secret in front; the ones before it keep signing for 24 h. Expired secrets are left
 * out of every answer and dropped at the next write.
 *
 * Like workflow.ts it does not check who may act (webhook-authz.ts) and runs each call to completion before
 * the next (the service serialises them).
 */
import { randomBytes } from "node:crypto";
import { canonicalJson, newWebhookSecret, topics, webhookSecretId, type LedgerRef, type Logger } from "@parcel-exchange/shared";
import type { LedgerEntryType } from "@parcel-exchange/ledger";
import type { CreateWebhookRequest, WebhookEndpoint, WebhookSecretResponse, WebhookTarget } from "./api.js";
import { NotFoundError } from "./errors.js";
import type { NoticePublisher } from "./notices.js";
import { bodyOf, SealedStore, STALE, type LedgerIndex, type SealedStateDeps } from "./state.js";
import type { User } from "./users.js";

export interface StoredSecret {
  readonly secret: string;
  readonly createdAt: string;
  /** Set when a newer secret replaced it. */
  readonly expiresAt?: string;
}

/** An endpoint as stored: its fields (secretIds are derived) and its secrets, newest first. */
export type StoredWebhook = Omit<WebhookEndpoint, "secretIds"> & { readonly secrets: readonly StoredSecret[] };

/** How long a replaced secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

type WebhookEntryType = Extract<LedgerEntryType, `webhook.${string}`>;
const WEBHOOK_ENTRY_TYPES: ReadonlySet<string> = new Set<WebhookEntryType>(["webhook.created", "webhook.secret_rotated", "webhook.disabled", "webhook.enabled"]);

/** The statuses a stored endpoint may have after each kind of ledger entry about it. */
const STATUS_AFTER: { readonly [T in WebhookEntryType]: readonly WebhookEndpoint["status"][] } = {
  "webhook.created": ["enabled"],
  "webhook.secret_rotated": ["enabled", "disabled"],
  "webhook.disabled": ["disabled"],
  "webhook.enabled": ["enabled"],
};

export const newEndpointId = (): string => `ep_${randomBytes(12).toString("hex")}`;

// ------------------------------------------------------------------------------------------- pure parts

/** The secrets that have not expired at `now`. */
export function liveSecrets(secrets: readonly StoredSecret[], now: number): StoredSecret[] {
  return secrets.filter((s) => s.expiresAt === undefined || Date.parse(s.expiresAt) > now);
}

/** The secrets after a rotation: the fresh one first, each live one before it expiring 24 h from now (or earlier, if it already did). */
export function rotatedSecrets(secrets: readonly StoredSecret[], fresh: string, now: number): StoredSecret[] {
  const expiresAt = new Date(now + ROTATION_OVERLAP_MS).toISOString();
  return [{ secret: fresh, createdAt: new Date(now).toISOString() }, ...liveSecrets(secrets, now).map((s) => (s.expiresAt === undefined ? { ...s, expiresAt } : s))];
}

/** What every reader sees: no secrets, the fingerprints of the live ones. */
export function endpointView(w: StoredWebhook, now: number): WebhookEndpoint {
  const { secrets, ...endpoint } = w;
  return { ...endpoint, secretIds: liveSecrets(secrets, now).map((s) => webhookSecretId(s.secret)) };
}

/** What the gateway sees: the endpoint with its live secrets. */
export function targetView(w: StoredWebhook, now: number): WebhookTarget {
  return { ...endpointView(w, now), secrets: liveSecrets(w.secrets, now).map((s) => s.secret) };
}

/** The body of the ledger entry recording an endpoint's new state (fingerprints, never secrets). */
export function webhookEntryBody(w: StoredWebhook, by: string, reason?: string): Record<string, unknown> {
  return { endpoint: w.id, party: w.party, url: w.url, eventTypes: w.eventTypes, format: w.format, by, ...(reason === undefined ? {} : { reason }), secretIds: w.secrets.map((s) => webhookSecretId(s.secret)) };
}

/** The store's check of a record read back (see SealedStoreOptions.check). */
export function checkStoredWebhook(index: LedgerIndex, key: string, w: StoredWebhook, ref: LedgerRef): string | typeof STALE | undefined {
  if (w.id !== key) return `it holds endpoint ${String(w.id)} under the key ${key}`;
  const latest = index.latestWhere(WEBHOOK_ENTRY_TYPES, "endpoint", key);
  if (!latest) return `the ledger records no webhook endpoint ${key}`;
  if (latest.seq !== ref.seq || latest.hash !== ref.hash) {
    const entry = index.at(ref);
    return entry && WEBHOOK_ENTRY_TYPES.has(entry.type) && bodyOf(entry).endpoint === key ? STALE : `it refers to ledger entry ${ref.seq}, which does not record endpoint ${key}`;
  }
  if (!STATUS_AFTER[latest.type as WebhookEntryType].includes(w.status)) return `its status '${String(w.status)}' does not follow from ledger entry ${latest.seq} (${latest.type})`;
  const b = bodyOf(latest);
  const recorded = { party: b.party, url: b.url, eventTypes: b.eventTypes, format: b.format, secretIds: b.secretIds };
  const stored = { party: w.party, url: w.url, eventTypes: w.eventTypes, format: w.format, secretIds: Array.isArray(w.secrets) ? w.secrets.map((s) => webhookSecretId(String(s.secret))) : undefined };
  if (canonicalJson(recorded) !== canonicalJson(stored)) return `it does not match ledger entry ${latest.seq} (party, url, event types, format or secrets differ)`;
  return undefined;
}

// ------------------------------------------------------------------------------------------- the registry

export interface WebhookDeps extends SealedStateDeps {
  readonly log: Logger;
  readonly notices: Pick<NoticePublisher, "webhookDisabled">;
  /** The policy version in force, stamped on notices. */
  readonly currentVersion: () => string;
  readonly now: () => number;
}

export class WebhookRegistry {
  private constructor(
    private readonly d: WebhookDeps,
    private readonly store: SealedStore<StoredWebhook>,
  ) {}

  static async open(d: WebhookDeps): Promise<WebhookRegistry> {
    const store = await SealedStore.open<StoredWebhook>({
      ...d, // kafka, config, signer, verifier, onRefused
      topic: topics(d.config.topicPrefix).policyWebhooks,
      name: "webhooks",
      check: (key, w, ref) => checkStoredWebhook(d.index, key, w, ref),
    });
    return new WebhookRegistry(d, store);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  /** Every endpoint as stored (with secrets), oldest first. */
  all(): StoredWebhook[] {
    return this.store.values().sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  get(id: string): StoredWebhook | undefined {
    return this.store.get(id);
  }

  /** How many endpoints a party holds, enabled or disabled. */
  countOf(party: string): number {
    return this.store.values().filter((w) => w.party === party).length;
  }

  view(w: StoredWebhook): WebhookEndpoint {
    return endpointView(w, this.d.now());
  }

  /** The enabled endpoints with their live secrets, for the gateway. */
  targets(): WebhookTarget[] {
    const now = this.d.now();
    return this.all()
      .filter((w) => w.status === "enabled")
      .map((w) => targetView(w, now));
  }

  /** Records the endpoint's new state in the ledger, then stores it (expired secrets dropped) under that entry. */
  private async write(w: StoredWebhook, type: WebhookEntryType, by: User, reason?: string): Promise<StoredWebhook> {
    const kept: StoredWebhook = { ...w, secrets: liveSecrets(w.secrets, this.d.now()) };
    const entry = await this.d.ledger.append({ type, actor: by.id, body: webhookEntryBody(kept, by.id, reason) });
    await this.store.put(kept.id, kept, entry);
    this.d.log.info({ endpoint: kept.id, party: kept.party, by: by.id, type }, "webhook endpoint changed");
    return kept;
  }

  private existing(id: string): StoredWebhook {
    const w = this.store.get(id);
    if (!w) throw new NotFoundError(`webhook endpoint ${id}`);
    return w;
  }

  /** Registers an endpoint for `party` (already authorised) with a new secret, returned once. */
  async create(by: User, party: string, r: CreateWebhookRequest & { readonly format: WebhookEndpoint["format"] }): Promise<WebhookSecretResponse> {
    const secret = newWebhookSecret();
    const at = this.iso();
    const w: StoredWebhook = { id: newEndpointId(), party, url: r.url, eventTypes: [...r.eventTypes], format: r.format, status: "enabled", createdAt: at, createdBy: by.id, secrets: [{ secret, createdAt: at }] };
    return { endpoint: this.view(await this.write(w, "webhook.created", by)), secret };
  }

  /** A new secret in front; the previous ones sign beside it for 24 h. */
  async rotate(by: User, id: string): Promise<WebhookSecretResponse> {
    const current = this.existing(id);
    const secret = newWebhookSecret();
    const w = await this.write({ ...current, secrets: rotatedSecrets(current.secrets, secret, this.d.now()) }, "webhook.secret_rotated", by);
    return { endpoint: this.view(w), secret };
  }

  /**
   * Stops deliveries to the endpoint (already disabled: unchanged). With `notifyOwner` (the gateway disabled
   * it) the owning party gets a PolicyNotice on its delivery topic, recorded in the ledger too.
   */
  async disable(by: User, id: string, reason: string, notifyOwner: boolean): Promise<WebhookEndpoint> {
    const current = this.existing(id);
    if (current.status === "disabled") return this.view(current);
    const w = await this.write({ ...current, status: "disabled", disabledAt: this.iso(), disabledReason: reason }, "webhook.disabled", by, reason);
    if (notifyOwner) await this.notifyDisabled(w, reason);
    return this.view(w);
  }

  /** The endpoint is disabled whether or not its owner could be told: a failed notice is logged, not answered. */
  private async notifyDisabled(w: StoredWebhook, reason: string): Promise<void> {
    try {
      const n = await this.d.notices.webhookDisabled(w, reason, this.d.currentVersion(), this.d.now());
      await this.d.ledger.append({ type: "policy.notice", actor: "policy-service", body: { webhook: w.id, party: w.party, notice: n.noticeId, summary: n.summary } });
    } catch (err) {
      this.d.log.error({ err, endpoint: w.id, party: w.party }, "webhook disabled, but its owner was not notified");
    }
  }

  /** Resumes deliveries to a disabled endpoint (already enabled: unchanged). */
  async enable(by: User, id: string): Promise<WebhookEndpoint> {
    const current = this.existing(id);
    if (current.status === "enabled") return this.view(current);
    const { disabledAt: _a, disabledReason: _r, ...rest } = current;
    return this.view(await this.write({ ...rest, status: "enabled" }, "webhook.enabled", by));
  }
}
