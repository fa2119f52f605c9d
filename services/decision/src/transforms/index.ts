/** Picks the transform for (action, class, recipient). Transforms are built once per policy plan, not per record. */
import type { MaskConfig } from "@parcel-exchange/shared";
import { coarsenTransform } from "./coarsen.js";
import { dropTransform } from "./drop.js";
import { maskTransform } from "./mask.js";
import { tokenTransform } from "./token.js";
import type { FieldAction, FieldTransform } from "./transform.js";

export type { FieldAction, FieldTransform } from "./transform.js";
export { FIELD_ACTIONS } from "./transform.js";

export interface TransformSettings {
  readonly masks: MaskConfig;
  readonly tokenKey: string;
}

export function transformFor(action: Exclude<FieldAction, "keep">, dataClass: string, recipient: string, s: TransformSettings): FieldTransform {
  switch (action) {
    case "drop":
      return dropTransform;
    case "mask":
      return maskTransform(dataClass, s.masks);
    case "token":
      return tokenTransform(s.tokenKey, recipient);
    case "coarsen":
      return coarsenTransform(dataClass);
  }
}
