/**
 * Consumer group and transactional id names. On the secured cluster every principal may use only groups and
 * transactional ids that start with its own name and a dot (`px.zto.…`, `px.router.…`), so each client names its
 * groups after the principal it authenticates as.
 */
import type { Config } from "./config.js";

/** The principal a client authenticates as (its SASL username), or `<prefix>.local` without SASL. */
export function identityOf(config: Config): string {
  return config.kafka.sasl?.username ?? `${config.topicPrefix}.local`;
}

/** A group (or transactional id) name of this client's own: `<principal>.<purpose>`. */
export function ownGroup(config: Config, purpose: string): string {
  return `${identityOf(config)}.${purpose}`;
}
