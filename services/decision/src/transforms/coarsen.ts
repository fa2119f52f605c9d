/**
 * Coarsening keeps the broad part of a value: an address keeps province/city/district only; a phone number
 * keeps its three-digit carrier prefix. Any other value has no coarse form and is dropped.
 */
import type { FieldTransform } from "./transform.js";

export function coarsenTransform(dataClass: string): FieldTransform {
  return {
    action: "coarsen",
    apply(value) {
      if (typeof value === "object" && value !== null && "province" in value) {
        const a = value as { province: string; city: string; district: string };
        return { province: a.province, city: a.city, district: a.district, detail: null };
      }
      if (dataClass === "pii.phone" && typeof value === "string") return value.slice(0, 3);
      return null;
    },
  };
}
