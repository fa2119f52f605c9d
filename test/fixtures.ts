/** The parcels of the expectation table: one order, its tracking and locker events, across parties. */
import type { LockerEventInput, OrderCreatedInput, TrackingEventInput } from "@parcel-exchange/sdk";
import { loadConfig } from "@parcel-exchange/shared";
import { recipientKey, tokenOf } from "@parcel-exchange/decision";

const jdKey = recipientKey(loadConfig({ NODE_ENV: "test" }).router.tokenKey, "jd");
const jdToken = (v: string): string => tokenOf(jdKey, v);

const T = 1_780_000_000_000;

export const O1: OrderCreatedInput = {
  eventId: "O1", parcelId: "SF1001", platform: "taobao", courier: "sf-express", locker: "hive-box", createdAt: T,
  orderId: "TB-778", merchant: "Fresh Cherries Co", recipientName: "王小明", recipientPhone: "13812345678",
  recipientAddress: { province: "浙江省", city: "杭州市", district: "西湖区", detail: "文三路100号3单元502室" }, destinationCity: "杭州市",
};
export const T1: TrackingEventInput = {
  eventId: "T1", parcelId: "SF1001", courier: "sf-express", platform: "taobao", locker: "hive-box", eventTime: T + 1000,
  status: "OUT_FOR_DELIVERY", province: "浙江省", city: "杭州市", district: "西湖区", siteCode: "HZ-021", exceptionReason: null,
  staffId: "SF-88123", staffName: "李建国", staffPhone: "13900001111", recipientPhone: "13812345678",
};
export const L1: LockerEventInput = {
  eventId: "L1", parcelId: "SF1001", locker: "hive-box", courier: "sf-express", platform: "taobao", eventTime: T + 2000,
  action: "DEPOSITED", city: "杭州市", lockerId: "HB-HZ-0042", siteCode: "HZ-021", pickupCode: "482913", recipientPhone: "13812345678",
};
export const L2: LockerEventInput = {
  eventId: "L2", parcelId: "ZT2002", locker: "hive-box", courier: "zto", platform: "jd", eventTime: T + 3000,
  action: "DEPOSITED", city: "北京市", lockerId: "HB-BJ-0007", siteCode: "BJ-003", pickupCode: "117734", recipientPhone: "13698765432",
};
export const T2: TrackingEventInput = {
  eventId: "T2", parcelId: "ZT2002", courier: "zto", platform: "jd", locker: null, eventTime: T + 4000,
  status: "ARRIVED_HUB", province: "北京市", city: "北京市", district: "朝阳区", siteCode: "BJ-HUB-1", exceptionReason: null,
  staffId: "ZT-1", staffName: "赵六", staffPhone: "13711112222", recipientPhone: null,
};
/** An SF parcel of a JD order: no SF–JD contract, so only the regulator's floor reaches JD. */
export const T3: TrackingEventInput = {
  eventId: "T3", parcelId: "SF3003", courier: "sf-express", platform: "jd", locker: null, eventTime: T + 5000,
  status: "DELIVERED", province: "广东省", city: "深圳市", district: "南山区", siteCode: "SZ-9", exceptionReason: null,
  staffId: "SF-2", staffName: "陈七", staffPhone: "13522223333", recipientPhone: "13344445555",
};

/**
 * party → event id → the fields that differ from the published event, with the action and the value the
 * party must see. Every other field must arrive unchanged. An event id absent for a party: not delivered.
 */
export type Expectation = Record<string, Record<string, Record<string, { action: string; value: unknown }>>>;

export const EXPECTED: Expectation = {
  "sf-express": {
    O1: {},
    L1: { pickupCode: { action: "drop", value: null } },
  },
  "hive-box": {
    O1: {
      recipientName: { action: "mask", value: "王**" },
      recipientAddress: { action: "coarsen", value: { province: "浙江省", city: "杭州市", district: "西湖区", detail: null } },
    },
    T1: { staffId: { action: "drop", value: null }, staffName: { action: "drop", value: null }, staffPhone: { action: "drop", value: null } },
  },
  taobao: {
    T1: {
      staffId: { action: "mask", value: "S******3" },
      staffName: { action: "mask", value: "李**" },
      staffPhone: { action: "mask", value: "1*********1" },
      recipientPhone: { action: "drop", value: null },
    },
    L1: { recipientPhone: { action: "mask", value: "138******78" } },
    L2: { pickupCode: { action: "drop", value: null }, recipientPhone: { action: "mask", value: "136******32" } },
  },
  jd: {
    L2: { recipientPhone: { action: "mask", value: "136******32" } },
    // JD may correlate ZTO staff across its parcels (stable tokens) without learning who they are.
    T2: {
      staffId: { action: "token", value: jdToken("ZT-1") },
      staffName: { action: "token", value: jdToken("赵六") },
      staffPhone: { action: "token", value: jdToken("13711112222") },
      recipientPhone: { action: "drop", value: null },
    },
    T3: {
      district: { action: "drop", value: null }, siteCode: { action: "drop", value: null }, exceptionReason: { action: "drop", value: null },
      staffId: { action: "drop", value: null }, staffName: { action: "drop", value: null }, staffPhone: { action: "drop", value: null },
      recipientPhone: { action: "drop", value: null },
    },
  },
  zto: {
    L2: { pickupCode: { action: "drop", value: null } },
  },
};
