/** Demo traffic: parcel lifecycles across the five parties of the 2017 dispute. */
import type { ParcelEventInput } from "@parcel-exchange/sdk";

export interface Lane {
  readonly platform: "taobao" | "jd";
  readonly courier: "sf-express" | "zto";
  readonly locker: "hive-box" | null;
}

/** Taobao and JD orders, carried by SF Express or ZTO, some to Hive Box lockers. */
export const LANES: readonly Lane[] = [
  { platform: "taobao", courier: "sf-express", locker: "hive-box" },
  { platform: "taobao", courier: "sf-express", locker: null },
  { platform: "taobao", courier: "zto", locker: "hive-box" },
  { platform: "jd", courier: "zto", locker: "hive-box" },
  { platform: "jd", courier: "sf-express", locker: null },
];

const NAMES = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏"];
const CITIES = [
  { province: "浙江省", city: "杭州市", district: "西湖区" },
  { province: "广东省", city: "深圳市", district: "南山区" },
  { province: "北京市", city: "北京市", district: "朝阳区" },
  { province: "上海市", city: "上海市", district: "浦东新区" },
];
const STATUSES = ["ACCEPTED", "PICKED_UP", "ARRIVED_HUB", "DEPARTED_HUB", "OUT_FOR_DELIVERY", "DELIVERED"] as const;

/** Events of one parcel, grouped by the party that publishes them, in lifecycle order. */
export function lifecycle(phase: string, n: number, lane: Lane, t0: number): Map<string, ParcelEventInput[]> {
  const parcelId = `${lane.courier === "sf-express" ? "SF" : "ZT"}${phase}${String(n).padStart(6, "0")}`;
  const place = CITIES[n % CITIES.length]!;
  const name = NAMES[n % NAMES.length]!;
  const phone = `13${String(100_000_000 + ((n * 7919) % 900_000_000)).padStart(9, "0")}`;
  const out = new Map<string, ParcelEventInput[]>();
  const add = (party: string, e: ParcelEventInput) => {
    const list = out.get(party) ?? [];
    list.push(e);
    out.set(party, list);
  };
  const id = (k: string) => `${phase}-${n}-${k}`;
  add(lane.platform, {
    type: "OrderCreated",
    event: {
      eventId: id("order"), parcelId, platform: lane.platform, courier: lane.courier, locker: lane.locker, createdAt: t0,
      orderId: `${lane.platform.toUpperCase()}-${n}`, merchant: "Orchard Direct", recipientName: name, recipientPhone: phone,
      recipientAddress: { ...place, detail: `文一路${n % 300}号${(n % 9) + 1}单元${(n % 30) + 101}室` }, destinationCity: place.city,
    },
  });
  STATUSES.forEach((status, i) => {
    if (lane.locker && status === "DELIVERED") return; // the locker takes over
    add(lane.courier, {
      type: "TrackingEvent",
      event: {
        eventId: id(`track${i}`), parcelId, courier: lane.courier, platform: lane.platform, locker: lane.locker, eventTime: t0 + (i + 1) * 1000,
        status, province: place.province, city: place.city, district: place.district, siteCode: `${place.city.slice(0, 1)}-${i}`,
        staffId: `${lane.courier}-staff-${n % 50}`, staffName: NAMES[(n + 3) % NAMES.length]!, staffPhone: `139${String(10_000_000 + n).slice(-8)}`,
        recipientPhone: status === "OUT_FOR_DELIVERY" ? phone : null,
      },
    });
  });
  if (lane.locker) {
    for (const [k, action] of [["dep", "DEPOSITED"], ["pick", "PICKED_UP"]] as const) {
      add(lane.locker, {
        type: "LockerEvent",
        event: {
          eventId: id(k), parcelId, locker: lane.locker, courier: lane.courier, platform: lane.platform, eventTime: t0 + 10_000,
          action, city: place.city, lockerId: `HB-${n % 97}`, siteCode: `HB-${place.district}`, pickupCode: String(100_000 + ((n * 31) % 900_000)),
          recipientPhone: phone,
        },
      });
    }
  }
  return out;
}
