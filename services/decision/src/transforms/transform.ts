/**
 * One small interface per record transformation. A transform maps one field value to what a recipient may
 * see; it never throws on a value of the field's schema type, and returns a value of the same type (or null,
 * which every transformable field allows).
 */
export type FieldAction = "keep" | "drop" | "mask" | "token" | "coarsen";
export const FIELD_ACTIONS: readonly FieldAction[] = ["keep", "drop", "mask", "token", "coarsen"];

export interface FieldTransform {
  readonly action: FieldAction;
  apply(value: unknown): unknown;
}
