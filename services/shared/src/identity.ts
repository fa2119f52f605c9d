/**
 * Who is who on the brokers and the registry: every party and service of a deployment authenticates as
 * `<prefix>.<id>` (its Kafka SCRAM username and registry user), so one cluster can host several deployments.
 */

/** What a party (or service) id may look like: lowercase letters, digits and '-', no dots, not starting with '-'. */
export const PARTY_ID_RE = /^[a-z0-9][a-z0-9-]*$/;

export const isPartyId = (id: unknown): id is string => typeof id === "string" && PARTY_ID_RE.test(id);

/** The exchange's own services; no party may take one of these ids. */
export const SERVICE_IDS = ["router", "policy", "regulator", "gateway"] as const;
export type ServiceId = (typeof SERVICE_IDS)[number];

export const isServiceId = (id: string): id is ServiceId => (SERVICE_IDS as readonly string[]).includes(id);

/** The Kafka SCRAM username / registry user of a party or service in the deployment with this topic prefix. */
export const principalOf = (prefix: string, id: string): string => `${prefix}.${id}`;

/** The party (or service) id behind a username of this deployment; undefined for any other username. */
export function partyOfPrincipal(prefix: string, username: string): string | undefined {
  if (!username.startsWith(`${prefix}.`)) return undefined;
  const id = username.slice(prefix.length + 1);
  return isPartyId(id) ? id : undefined;
}
