/** The stream and the history read with consumer groups of their own, made per request and deleted after it. */
import { randomUUID } from "node:crypto";
import type { Kafka } from "kafkajs";
import { ownGroup, type Config } from "@parcel-exchange/shared";

/** A new group name under the gateway's own principal, `<principal>.<purpose>.<uuid>`. */
export const scratchGroup = (config: Config, purpose: string): string => ownGroup(config, `${purpose}.${randomUUID()}`);

/** Deletes a scratch group once its consumer has left; a failure leaves only an empty group behind. */
export async function deleteScratchGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin
    .connect()
    .then(() => admin.deleteGroups([groupId]))
    .catch(() => undefined)
    .finally(() => admin.disconnect().catch(() => undefined));
}
