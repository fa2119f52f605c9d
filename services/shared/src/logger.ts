/** Structured logs (pino, JSON lines on stderr). One root logger per process; services take children. */
import { pino, destination, stdTimeFunctions, type Logger } from "pino";

export type { Logger };

export function createLogger(service: string, level: string): Logger {
  return pino({ level, base: { service }, timestamp: stdTimeFunctions.isoTime }, destination(2));
}
