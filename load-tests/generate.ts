/**
 * A seeded generator of realistic parcel traffic for the load tests. Pure: no I/O, no clock, no global
 * randomness; the same options always give the same events.
 *
 * Each parcel is one lifecycle:
 *   1. an OrderCreated from the marketplace (taobao or jd), naming the courier (sf-express or zto) and, for
 *      about a third of the parcels, the locker operator hive-box;
 *   2. about eight TrackingEvents from the courier (accepted, picked up, hub scans, out for delivery,
 *      delivered; now and then an exception scan or a return);
 *   3. when a locker is used and the parcel was not returned, LockerEvents from hive-box: DEPOSITED then
 *      PICKED_UP (or, rarely, EXPIRED).
 *
 * The events come back grouped by publishing party (the party each event names as its source), in lifecycle
 * order within each parcel, ready for that party's PartyPublisher.publishMany: each party publishes only its own
 * events, on its own ingress topics.
 */
import type { LockerEventInput, OrderCreatedInput, ParcelEventInput, TrackingEventInput, TrackingStatus } from "@parcel-exchange/sdk";

export const MARKETPLACES = ["taobao", "jd"] as const;
export const COURIERS = ["sf-express", "zto"] as const;
export const LOCKERS = ["hive-box"] as const;
export const PUBLISHERS = [...MARKETPLACES, ...COURIERS, ...LOCKERS] as const;
export type Publisher = (typeof PUBLISHERS)[number];
/** The publishing parties with their kinds (as in policies/data/parties.json): what their ingress topics are. */
export const PARTY_KINDS: Readonly<Record<Publisher, { readonly kind: "marketplace" | "courier" | "locker" }>> = {
  ...Object.fromEntries(MARKETPLACES.map((p) => [p, { kind: "marketplace" }] as const)),
  ...Object.fromEntries(COURIERS.map((p) => [p, { kind: "courier" }] as const)),
  ...Object.fromEntries(LOCKERS.map((p) => [p, { kind: "locker" }] as const)),
} as Record<Publisher, { readonly kind: "marketplace" | "courier" | "locker" }>;

export interface GenerateOptions {
  /** Total number of events; the last lifecycle is cut short so that the total is exact. */
  readonly events: number;
  readonly seed?: number;
  /** Epoch millis of the first order. Default: a fixed instant, so that output does not depend on the clock. */
  readonly startTime?: number;
  /** Share of parcels delivered to a locker (0..1). Default 0.35. */
  readonly lockerShare?: number;
}

export interface GeneratedLoad {
  /** Events per publishing party, each list in generation order (per parcel: lifecycle order). */
  readonly byParty: Readonly<Record<Publisher, ParcelEventInput[]>>;
  /** Every event in generation order (parcel by parcel). */
  readonly all: readonly ParcelEventInput[];
  readonly parcels: number;
  readonly total: number;
}

/** mulberry32: small, fast and good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const digits = (r: Rand, n: number): string => {
  let s = "";
  for (let i = 0; i < n; i++) s += String(Math.floor(r() * 10));
  return s;
};

const SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧"];
const GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "小明", "建国", "子涵", "欣怡", "浩然", "雨桐", "梓轩", "思远", "一诺"];
const PHONE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "166", "177", "180", "181", "186", "187", "188", "189", "199"];

interface Place {
  readonly province: string;
  readonly city: string;
  readonly districts: readonly string[];
  readonly code: string;
}

const PLACES: readonly Place[] = [
  { province: "浙江省", city: "杭州市", districts: ["西湖区", "上城区", "拱墅区", "滨江区", "余杭区"], code: "HZ" },
  { province: "上海市", city: "上海市", districts: ["浦东新区", "徐汇区", "静安区", "闵行区", "杨浦区"], code: "SH" },
  { province: "北京市", city: "北京市", districts: ["朝阳区", "海淀区", "东城区", "丰台区", "通州区"], code: "BJ" },
  { province: "广东省", city: "深圳市", districts: ["南山区", "福田区", "宝安区", "龙岗区"], code: "SZ" },
  { province: "广东省", city: "广州市", districts: ["天河区", "越秀区", "海珠区", "白云区"], code: "GZ" },
  { province: "江苏省", city: "南京市", districts: ["玄武区", "鼓楼区", "建邺区", "江宁区"], code: "NJ" },
  { province: "江苏省", city: "苏州市", districts: ["姑苏区", "吴中区", "工业园区"], code: "SU" },
  { province: "四川省", city: "成都市", districts: ["锦江区", "武侯区", "青羊区", "高新区"], code: "CD" },
  { province: "湖北省", city: "武汉市", districts: ["江汉区", "武昌区", "洪山区"], code: "WH" },
  { province: "陕西省", city: "西安市", districts: ["雁塔区", "碑林区", "未央区"], code: "XA" },
];
const STREETS = ["文三路", "中山路", "人民路", "解放路", "建设路", "长江路", "和平路", "学院路", "科技路", "滨江大道", "南京路", "天府大道"];
const MERCHANTS = ["Fresh Cherries Co", "三只松鼠旗舰店", "小米官方旗舰店", "优衣库官方店", "良品铺子", "李宁官方店", "Apple Store 官方旗舰店", "无印良品", "百草味", "安踏体育"];
const EXCEPTIONS = ["地址不详", "收件人电话无人接听", "天气原因延误", "包装破损", "客户要求改约"];

const name = (r: Rand): string => pick(r, SURNAMES) + pick(r, GIVEN);
const phone = (r: Rand): string => pick(r, PHONE_PREFIXES) + digits(r, 8);

/** Plans one parcel's lifecycle: all its events, in order. */
function lifecycle(r: Rand, index: number, t0: number, lockerShare: number): ParcelEventInput[] {
  const platform = pick(r, MARKETPLACES);
  const courier = pick(r, COURIERS);
  const locker = r() < lockerShare ? pick(r, LOCKERS) : null;
  // Waybill numbers in each courier's style; the index makes them unique within a run.
  const parcelId = courier === "sf-express" ? `SF${String(1_400_000_000_000 + index)}` : `73${String(500_000_000_000 + index)}`;
  const origin = pick(r, PLACES);
  const dest = pick(r, PLACES);
  const destDistrict = pick(r, dest.districts);
  const recipientPhone = phone(r);
  const staffPrefix = courier === "sf-express" ? "SF" : "ZT";
  const courierStaff = () => ({ staffId: `${staffPrefix}-${digits(r, 5)}`, staffName: name(r), staffPhone: phone(r) });
  let t = t0;
  const step = (minMinutes: number, maxMinutes: number) => (t += Math.floor((minMinutes + r() * (maxMinutes - minMinutes)) * 60_000));

  const order: OrderCreatedInput = {
    eventId: `${parcelId}-o`,
    parcelId,
    platform,
    courier,
    locker,
    createdAt: t,
    orderId: `${platform === "taobao" ? "TB" : "JD"}${digits(r, 16)}`,
    merchant: pick(r, MERCHANTS),
    recipientName: name(r),
    recipientPhone,
    recipientAddress: {
      province: dest.province,
      city: dest.city,
      district: destDistrict,
      detail: `${pick(r, STREETS)}${1 + Math.floor(r() * 400)}号${1 + Math.floor(r() * 12)}单元${1 + Math.floor(r() * 30)}0${1 + Math.floor(r() * 6)}室`,
    },
    destinationCity: dest.city,
  };
  const events: ParcelEventInput[] = [{ type: "OrderCreated", event: order }];

  let seq = 0;
  const scan = (status: TrackingStatus, at: Place, district: string, site: string, extra: Partial<TrackingEventInput> = {}) => {
    const e: TrackingEventInput = {
      eventId: `${parcelId}-t${seq++}`,
      parcelId,
      courier,
      platform,
      locker,
      eventTime: step(20, 600),
      status,
      province: at.province,
      city: at.city,
      district,
      siteCode: site,
      exceptionReason: null,
      staffId: null,
      staffName: null,
      staffPhone: null,
      recipientPhone: null,
      ...extra,
    };
    events.push({ type: "TrackingEvent", event: e });
  };

  const originDistrict = pick(r, origin.districts);
  const originSite = `${origin.code}-${digits(r, 3)}`;
  const destSite = `${dest.code}-${digits(r, 3)}`;
  scan("ACCEPTED", origin, originDistrict, originSite);
  scan("PICKED_UP", origin, originDistrict, originSite, courierStaff());
  scan("ARRIVED_HUB", origin, originDistrict, `${origin.code}-HUB-1`);
  scan("DEPARTED_HUB", origin, originDistrict, `${origin.code}-HUB-1`);
  scan("ARRIVED_HUB", dest, destDistrict, `${dest.code}-HUB-1`);
  if (r() < 0.05) scan("EXCEPTION", dest, destDistrict, `${dest.code}-HUB-1`, { exceptionReason: pick(r, EXCEPTIONS) });
  scan("DEPARTED_HUB", dest, destDistrict, `${dest.code}-HUB-1`);
  const returned = r() < 0.02;
  if (returned) {
    scan("RETURNED", dest, destDistrict, destSite, courierStaff());
    return events;
  }
  scan("OUT_FOR_DELIVERY", dest, destDistrict, destSite, { ...courierStaff(), recipientPhone });
  scan("DELIVERED", dest, destDistrict, destSite, courierStaff());

  if (locker !== null) {
    const lockerId = `HB-${dest.code}-${digits(r, 4)}`;
    const pickupCode = digits(r, 6);
    const box = (action: LockerEventInput["action"], extra: Partial<LockerEventInput> = {}) => {
      const e: LockerEventInput = {
        eventId: `${parcelId}-l${seq++}`,
        parcelId,
        locker,
        courier,
        platform,
        eventTime: step(1, 60 * 24),
        action,
        city: dest.city,
        lockerId,
        siteCode: destSite,
        pickupCode: null,
        recipientPhone,
        ...extra,
      };
      events.push({ type: "LockerEvent", event: e });
    };
    box("DEPOSITED", { pickupCode });
    if (r() < 0.03) box("EXPIRED");
    else box("PICKED_UP");
  }
  return events;
}

/** The publishing party of an event: the party it names as its source. */
export function publisherOf(e: ParcelEventInput): string {
  switch (e.type) {
    case "OrderCreated":
      return e.event.platform;
    case "TrackingEvent":
      return e.event.courier;
    case "LockerEvent":
      return e.event.locker;
  }
}

export function generateLoad(opts: GenerateOptions): GeneratedLoad {
  if (!Number.isInteger(opts.events) || opts.events < 0) throw new RangeError(`events must be a whole number >= 0, got ${opts.events}`);
  const r = rng(opts.seed ?? 20240601);
  const start = opts.startTime ?? 1_780_000_000_000;
  const lockerShare = opts.lockerShare ?? 0.35;
  const byParty = Object.fromEntries(PUBLISHERS.map((p) => [p, [] as ParcelEventInput[]])) as Record<Publisher, ParcelEventInput[]>;
  const all: ParcelEventInput[] = [];
  let parcels = 0;
  while (all.length < opts.events) {
    // Orders arrive a few seconds apart; lifecycles overlap in time, as they do in life.
    const evs = lifecycle(r, parcels, start + parcels * 2_000 + Math.floor(r() * 2_000), lockerShare);
    parcels++;
    for (const e of evs.slice(0, opts.events - all.length)) {
      all.push(e);
      byParty[publisherOf(e) as Publisher].push(e);
    }
  }
  return { byParty, all, parcels, total: all.length };
}
