import type { FieldTransform } from "./transform.js";

/** The recipient gets null in place of the value. */
export const dropTransform: FieldTransform = { action: "drop", apply: () => null };
