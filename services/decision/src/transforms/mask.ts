/**
 * Masks after the privacy-waybill rules of the national express electronic waybill standard (2023): a phone
 * number with at least six digits hidden, a name with at least one character hidden, an address without its
 * unit/room. How much stays visible is configurable per class (config PX_MASK_*).
 */
import type { MaskConfig } from "@parcel-exchange/shared";
import type { FieldTransform } from "./transform.js";

const STAR = "*";

/** Any UTF-16 surrogate: a string without one has one code point per code unit. */
const SURROGATE = /[\uD800-\uDFFF]/;

/** Hides all but `keepStart` leading and `keepEnd` trailing characters, hiding at least `minHidden`. */
export function maskMiddle(s: string, keepStart: number, keepEnd: number, minHidden: number): string {
  // Characters are code points; most values (digits, CJK names) have no surrogates, and are cut as strings.
  const chars = SURROGATE.test(s) ? Array.from(s) : undefined;
  const n = chars === undefined ? s.length : chars.length;
  if (n === 0) return s;
  const hide = Math.min(n, Math.max(minHidden, n - keepStart - keepEnd));
  let visible = n - hide;
  const end = Math.min(keepEnd, Math.max(0, visible - keepStart));
  visible -= end;
  const start = Math.min(keepStart, visible);
  if (chars === undefined) return s.slice(0, start) + STAR.repeat(n - start - end) + s.slice(n - end);
  return chars.slice(0, start).join("") + STAR.repeat(n - start - end) + chars.slice(n - end).join("");
}

export function maskPhone(phone: string, cfg: MaskConfig["phone"]): string {
  return maskMiddle(phone, cfg.keepStart, cfg.keepEnd, 6);
}

export function maskName(name: string, cfg: MaskConfig["name"]): string {
  return maskMiddle(name, cfg.keepStart, 0, 1);
}

// Unit, room, floor and building-entrance markers, Chinese and Latin, with their numbers.
const UNIT_ROOM = [
  /[0-9０-９A-Za-z一二三四五六七八九十百零〇-]+\s*(?:单元|室|房|户|层|楼层)/gu,
  /\b(?:unit|room|rm|apt|apartment|flat|suite|floor|fl)\b\.?\s*#?\s*[0-9A-Za-z-]+/giu,
  /#\s*[0-9A-Za-z-]+/gu,
];

/** The address detail without its unit/room (the street and building stay). */
export function maskAddressDetail(detail: string): string {
  let out = detail;
  for (const re of UNIT_ROOM) out = out.replace(re, "");
  return out.replace(/[\s,，-]+$/u, "").replace(/\s{2,}/g, " ").trim();
}

interface AddressValue {
  province: string;
  city: string;
  district: string;
  detail: string | null;
}

const isAddress = (v: unknown): v is AddressValue => typeof v === "object" && v !== null && "province" in v && "detail" in v;

/** A generic mask for a class without a specific one: first and last character visible on long values. */
export function maskGeneric(s: string): string {
  return s.length >= 8 ? maskMiddle(s, 1, 1, 6) : maskMiddle(s, 1, 0, 1);
}

export function maskTransform(dataClass: string, cfg: MaskConfig): FieldTransform {
  let f: (v: string) => string;
  if (dataClass === "pii.phone") f = (v) => maskPhone(v, cfg.phone);
  else if (dataClass === "pii.name") f = (v) => maskName(v, cfg.name);
  else f = maskGeneric;
  return {
    action: "mask",
    apply(value) {
      if (typeof value === "string") return f(value);
      if (isAddress(value)) return { ...value, detail: value.detail === null ? null : maskAddressDetail(value.detail) };
      return null;
    },
  };
}
