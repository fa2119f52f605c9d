/** The web console: who receives what, proposals, the ledger and the live flow, over the policy service's API. */
export { buildConsole, type ConsoleDeps } from "./app.js";
export { startConsole, type RunningConsole, type StartConsoleOptions } from "./start.js";
export { CONSOLE_ERROR_CODES, CONSOLE_ERRORS, ConsoleError, type ConsoleErrorCode } from "./errors.js";
export { LIVE_QUERIES } from "./live.js";
export { prometheusBin, startLocalPrometheus, type LocalPrometheus, type LocalPrometheusOptions, type ScrapeTarget } from "./prometheus.js";
