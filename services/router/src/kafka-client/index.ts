/** Picks the router's Kafka client from the configuration (PX_KAFKA_CLIENT). */
import type { Kafka } from "kafkajs";
import type { Config, Logger } from "@parcel-exchange/shared";
import { KafkajsRouterKafka } from "./kafkajs.js";
import type { RouterKafka } from "./types.js";

export type * from "./types.js";
export { sendChunks } from "./chunks.js";

/** `kafka` serves the control plane in either case. @platformatic/kafka is loaded only when chosen (a devDependency for now). */
export async function createRouterKafka(config: Config, kafka: Kafka, log: Logger): Promise<RouterKafka> {
  if (config.router.kafkaClient === "platformatic") {
    const { PlatformaticRouterKafka } = await import("./platformatic.js");
    return new PlatformaticRouterKafka(kafka, config, log);
  }
  return new KafkajsRouterKafka(kafka, config, log);
}
