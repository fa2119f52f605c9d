/**
 * Who may do what with webhook endpoints (the route table has already checked the role). A party manages and
 * sees only its own endpoints; a regulator those of any party of the policy in force; a viewer sees all; the
 * gateway reads targets and disables any endpoint. Another party's endpoint is answered NOT_FOUND, not
 * FORBIDDEN, so its id does not leak.
 */
import type { WebhookEndpoint } from "./api.js";
import { ForbiddenError, NotFoundError, RequestInvalidError } from "./errors.js";
import type { User } from "./users.js";

/** Endpoints a party may hold, enabled or disabled. */
export const MAX_ENDPOINTS_PER_PARTY = 10;

/**
 * The party a new endpoint belongs to: a party user's own (`requested` left out or equal to it), or the one a
 * regulator names, which must be a party of the policy in force and hold fewer than the maximum endpoints.
 */
export function webhookOwner(user: User, requested: string | undefined, partiesInForce: ReadonlySet<string>, endpointsOf: (party: string) => number): string {
  let party: string;
  if (user.role === "party") {
    if (requested !== undefined && requested !== user.party) throw new ForbiddenError(`${user.id} may register webhook endpoints only for its own party, ${String(user.party)}`);
    party = user.party!;
  } else if (user.role === "regulator") {
    if (requested === undefined) throw new RequestInvalidError("the request body", ["'party' is required: name the party the endpoint is for"]);
    party = requested;
  } else {
    throw new ForbiddenError(`${user.id} is a ${user.role} and may not register webhook endpoints`);
  }
  if (!partiesInForce.has(party)) throw new RequestInvalidError("the request body", [`'party': ${party} is not a party of the policy in force`]);
  const held = endpointsOf(party);
  if (held >= MAX_ENDPOINTS_PER_PARTY) throw new RequestInvalidError("the request body", [`${party} already has ${held} webhook endpoints (at most ${MAX_ENDPOINTS_PER_PARTY}, disabled ones included); reuse or re-enable one`]);
  return party;
}

/** Whether the user may see the endpoint at all. */
export function canSeeWebhook(user: User, e: Pick<WebhookEndpoint, "party">): boolean {
  if (user.role === "party") return e.party === user.party;
  return user.role === "viewer" || user.role === "regulator" || user.role === "gateway";
}

export type WebhookAction = "rotate" | "disable" | "enable";

/** Checks that the user may act on the endpoint (`undefined`: no such id). Throws NotFoundError or ForbiddenError. */
export function authorizeWebhookAction<E extends Pick<WebhookEndpoint, "id" | "party">>(user: User, e: E | undefined, action: WebhookAction, id: string): E {
  if (e === undefined || !canSeeWebhook(user, e)) throw new NotFoundError(`webhook endpoint ${id}`);
  if (user.role === "party" || user.role === "regulator") return e;
  if (user.role === "gateway" && action === "disable") return e;
  throw new ForbiddenError(`${user.id} is a ${user.role} and may not ${action} webhook endpoints`);
}

/** The endpoints the user may list: a party its own, every other reader all. */
export function visibleWebhooks<E extends Pick<WebhookEndpoint, "party">>(user: User, all: readonly E[]): E[] {
  return all.filter((e) => canSeeWebhook(user, e));
}
