/** Splitting a transaction's records into produce calls. */

/**
 * Splits topic messages into calls of at most `size` records (and, when `maxBytes` is given, of at most about
 * that many bytes as measured by `bytesOf`; a single larger record still gets a call of its own), keeping order.
 */
export function* sendChunks<M>(
  topicMessages: readonly { topic: string; messages: readonly M[] }[],
  size: number,
  maxBytes = Infinity,
  bytesOf: (m: M) => number = () => 0,
): Generator<{ topic: string; messages: M[] }[]> {
  let chunk: { topic: string; messages: M[] }[] = [];
  let n = 0;
  let bytes = 0;
  let current: { topic: string; messages: M[] } | undefined;
  for (const { topic, messages } of topicMessages) {
    current = undefined;
    for (const m of messages) {
      const b = maxBytes === Infinity ? 0 : bytesOf(m);
      if (n > 0 && (n === size || bytes + b > maxBytes)) {
        yield chunk;
        chunk = [];
        n = 0;
        bytes = 0;
        current = undefined;
      }
      if (current === undefined) chunk.push((current = { topic, messages: [] }));
      current.messages.push(m);
      n++;
      bytes += b;
    }
  }
  if (n > 0) yield chunk;
}
