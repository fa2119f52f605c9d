import { Counter, type Registry } from "prom-client";

export interface ConsoleMetrics {
  readonly requests: Counter<"route" | "status">;
  readonly signIns: Counter<"result">;
  readonly actions: Counter<"action" | "result">;
}

export function consoleMetrics(registry: Registry): ConsoleMetrics {
  return {
    requests: new Counter({ name: "px_console_requests_total", help: "Console requests, by route and status", labelNames: ["route", "status"], registers: [registry] }),
    signIns: new Counter({ name: "px_console_sign_ins_total", help: "Sign-in attempts, by result (ok, refused, unavailable)", labelNames: ["result"], registers: [registry] }),
    actions: new Counter({ name: "px_console_actions_total", help: "Actions submitted through the console (approve, reject, apply, rollback), by result", labelNames: ["action", "result"], registers: [registry] }),
  };
}
