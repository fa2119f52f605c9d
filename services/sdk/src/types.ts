/**
 * TypeScript shapes of the event schemas in schemas/avro/*.avsc (namespace exchange.parcel.v1).
 *
 * - Timestamps (`timestamp-millis` longs) are numbers of epoch milliseconds.
 * - Nullable fields (`["null", "string"]` with default null) are `string | null` on the full event and
 *   optional on the `*Input` shapes used for publishing, where the SDK fills in the schema default.
 * - `eventId` is optional on input: the publisher generates a UUID when it is absent.
 *
 * Keep these in step with the .avsc files; publisher.test.ts checks the field lists against the schemas.
 */
import type { EventType } from "@parcel-exchange/shared";

export type { EventType };

export const TRACKING_STATUSES = [
  "ACCEPTED",
  "PICKED_UP",
  "ARRIVED_HUB",
  "DEPARTED_HUB",
  "OUT_FOR_DELIVERY",
  "DELIVERED",
  "EXCEPTION",
  "RETURNED",
] as const;
/** Avro enum exchange.parcel.v1.TrackingStatus. */
export type TrackingStatus = (typeof TRACKING_STATUSES)[number];

export const LOCKER_ACTIONS = ["DEPOSITED", "PICKED_UP", "EXPIRED", "RETURNED"] as const;
/** Avro enum exchange.parcel.v1.LockerAction. */
export type LockerAction = (typeof LOCKER_ACTIONS)[number];

/** Avro record exchange.parcel.v1.Address. */
export interface Address {
  province: string;
  city: string;
  district: string;
  /** Street, building, unit and room. */
  detail: string | null;
}

export interface AddressInput {
  province: string;
  city: string;
  district: string;
  detail?: string | null;
}

/** Published by a marketplace when an order is handed to a courier. */
export interface OrderCreated {
  eventId: string;
  /** Waybill number; the Kafka key. */
  parcelId: string;
  /** Marketplace party id (the publisher). */
  platform: string;
  /** Courier party chosen for the parcel. */
  courier: string;
  /** Locker operator when the buyer chose locker delivery. */
  locker: string | null;
  /** Epoch millis. */
  createdAt: number;
  orderId: string | null;
  merchant: string | null;
  recipientName: string | null;
  recipientPhone: string | null;
  recipientAddress: Address | null;
  destinationCity: string | null;
}

export interface OrderCreatedInput {
  eventId?: string;
  parcelId: string;
  platform: string;
  courier: string;
  locker?: string | null;
  createdAt: number;
  orderId?: string | null;
  merchant?: string | null;
  recipientName?: string | null;
  recipientPhone?: string | null;
  recipientAddress?: AddressInput | null;
  destinationCity?: string | null;
}

/** Published by a courier at each scan of a parcel. */
export interface TrackingEvent {
  eventId: string;
  parcelId: string;
  /** Courier party id (the publisher). */
  courier: string;
  /** Marketplace the order came from; the SDK requires it for routing. */
  platform: string | null;
  locker: string | null;
  /** Epoch millis. */
  eventTime: number;
  status: TrackingStatus;
  province: string | null;
  city: string | null;
  district: string | null;
  siteCode: string | null;
  exceptionReason: string | null;
  staffId: string | null;
  staffName: string | null;
  staffPhone: string | null;
  /** Set on OUT_FOR_DELIVERY so the buyer can be called. */
  recipientPhone: string | null;
}

export interface TrackingEventInput {
  eventId?: string;
  parcelId: string;
  courier: string;
  /** Nullable in the schema, but the publisher rejects a TrackingEvent without it. */
  platform: string | null;
  locker?: string | null;
  eventTime: number;
  status: TrackingStatus;
  province?: string | null;
  city?: string | null;
  district?: string | null;
  siteCode?: string | null;
  exceptionReason?: string | null;
  staffId?: string | null;
  staffName?: string | null;
  staffPhone?: string | null;
  recipientPhone?: string | null;
}

/** Published by a locker operator when a parcel is deposited, picked up, expires or is returned. */
export interface LockerEvent {
  eventId: string;
  parcelId: string;
  /** Locker operator party id (the publisher). */
  locker: string;
  courier: string;
  /** Nullable in the schema; the SDK requires it for routing. */
  platform: string | null;
  /** Epoch millis. */
  eventTime: number;
  action: LockerAction;
  city: string | null;
  lockerId: string | null;
  siteCode: string | null;
  pickupCode: string | null;
  recipientPhone: string | null;
}

export interface LockerEventInput {
  eventId?: string;
  parcelId: string;
  locker: string;
  courier: string;
  /** Nullable in the schema, but the publisher rejects a LockerEvent without it. */
  platform: string | null;
  eventTime: number;
  action: LockerAction;
  city?: string | null;
  lockerId?: string | null;
  siteCode?: string | null;
  pickupCode?: string | null;
  recipientPhone?: string | null;
}

/** Event type → full event shape. */
export interface EventMap {
  OrderCreated: OrderCreated;
  TrackingEvent: TrackingEvent;
  LockerEvent: LockerEvent;
}

/** Event type → publish input shape. */
export interface EventInputMap {
  OrderCreated: OrderCreatedInput;
  TrackingEvent: TrackingEventInput;
  LockerEvent: LockerEventInput;
}

/** A complete event tagged with its type. */
export type ParcelEvent = { [K in EventType]: { type: K; event: EventMap[K] } }[EventType];

/** An event to publish, tagged with its type; defaults (eventId, nullable fields) may be left out. */
export type ParcelEventInput = { [K in EventType]: { type: K; event: EventInputMap[K] } }[EventType];

/** One field the router transformed for this recipient, from the `px-transformed` header. */
export interface TransformedField {
  field: string;
  action: string;
}

/** What every delivery carries besides the event. */
export interface DeliveryMeta {
  /** Version of the policy bundle the router applied. */
  policyVersion: string;
  /** eventId of the raw event this copy was made from. */
  sourceEventId: string;
  transformed: TransformedField[];
  partition: number;
  /** Kafka offset (a decimal string, as kafkajs gives it). */
  offset: string;
  /** The record key (the parcelId), or null when the record has none. */
  key: string | null;
}

/**
 * A per-recipient copy of an event read from `px.deliver.<party>`. Fields the policy removed from the
 * recipient's schema and that are nullable in the canonical schema come back as null.
 */
export type Delivery = { [K in EventType]: DeliveryMeta & { type: K; event: EventMap[K] } }[EventType];
