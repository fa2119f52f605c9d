/** Parcel Exchange party SDK: publish events to the exchange and read the copies delivered to you. */
export { PartyPublisher, resolveParty, type PublisherOptions } from "./publisher.js";
export {
  DeliverySubscriber,
  DeliveryDecodeError,
  decodeDelivery,
  parseTransformed,
  type CollectOptions,
  type DeliveryErrorHandler,
  type RecordLocation,
  type SubscriberOptions,
  type PolicyNotice,
} from "./subscriber.js";
export { prepareEvent, prepareEvents, isValidPartyId, avroTypeOf, SOURCE_FIELD } from "./validate.js";
export * from "./types.js";
export { ValidationError, DependencyError, ConfigError, PxError, loadConfig, type Config } from "@parcel-exchange/shared";
export { SdkError, SDK_ERROR_CODES, type SdkErrorCode } from "./errors.js";
