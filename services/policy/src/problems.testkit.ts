/** Test support: the problems a request parser listed when it refused a body (REQUEST_INVALID). */
import { expect } from "vitest";
import { RequestInvalidError } from "./errors.js";

export function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RequestInvalidError);
    return (err as RequestInvalidError).problems;
  }
  throw new Error("expected REQUEST_INVALID");
}
