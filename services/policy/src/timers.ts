/** Running state changes one at a time, and background work on an interval. */

/** Runs the functions given to it one at a time, in order; a failure does not stop the ones after it. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Resolves once everything queued so far has finished. */
  async drain(): Promise<void> {
    await this.tail;
  }
}

export interface Repeating {
  stop(): void;
}

/** Calls `fn` every `ms`; a failure goes to `onError` and the next call happens as usual. */
export function every(ms: number, fn: () => Promise<unknown>, onError: (err: unknown) => void): Repeating {
  const timer = setInterval(() => void fn().catch(onError), ms);
  return { stop: () => clearInterval(timer) };
}
