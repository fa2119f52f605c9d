/**
 * Progress for operations that take seconds. On a terminal: a spinner with the elapsed time, erased when
 * done. Otherwise (a pipe, a CI log): the label once, on its own line.
 */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface Progress {
  stop(): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function startProgress(stream: ProgressStream, label: string): Progress {
  if (!stream.isTTY) {
    stream.write(`${label}\n`);
    return { stop: () => undefined };
  }
  const started = Date.now();
  let frame = 0;
  const draw = () => {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${label} ${secs}s\x1b[K`);
  };
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write("\r\x1b[K");
    },
  };
}

/** Runs `fn` with progress shown on `stream`. */
export async function withProgress<T>(stream: ProgressStream, label: string, fn: () => Promise<T>): Promise<T> {
  const p = startProgress(stream, label);
  try {
    return await fn();
  } finally {
    p.stop();
  }
}
