import { describe, expect, it } from "vitest";
import { sendChunks } from "./router.js";

describe("sendChunks", () => {
  it("splits topic messages into calls of at most N records, keeping order and every record", () => {
    const input = [
      { topic: "a", messages: [1, 2, 3, 4, 5] },
      { topic: "b", messages: [6, 7] },
      { topic: "c", messages: [8, 9, 10, 11] },
    ];
    const chunks = [...sendChunks(input, 4)];
    expect(chunks).toEqual([
      [{ topic: "a", messages: [1, 2, 3, 4] }],
      [{ topic: "a", messages: [5] }, { topic: "b", messages: [6, 7] }, { topic: "c", messages: [8] }],
      [{ topic: "c", messages: [9, 10, 11] }],
    ]);
    expect(chunks.flat().flatMap((c) => c.messages)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect([...sendChunks([], 4)]).toEqual([]);
  });
});
