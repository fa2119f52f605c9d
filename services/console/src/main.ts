import { ConfigError, createLogger, loadConfig } from "@parcel-exchange/shared";
import { startConsole } from "./start.js";

const log = createLogger("console", process.env.PX_LOG_LEVEL ?? "info");
try {
  const config = loadConfig();
  const c = await startConsole(config, { log });
  const stop = (): void => {
    setTimeout(() => process.exit(1), 10_000).unref();
    c.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} catch (err) {
  if (err instanceof ConfigError) {
    log.fatal({ setting: err.setting }, `invalid configuration: ${err.message}`);
    process.exit(78);
  }
  log.fatal({ err }, "console did not start");
  process.exit(1);
}
