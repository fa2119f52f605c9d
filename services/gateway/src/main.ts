/** `npm run gateway`: the HTTP gateway as a process, configured from the environment. */
import { loadConfig, createLogger, PxError } from "@parcel-exchange/shared";
import { startGateway } from "./start.js";

const log = createLogger("gateway", process.env.PX_LOG_LEVEL ?? "info");
try {
  const config = loadConfig();
  const gw = await startGateway(config, { log });
  const stop = (): void => {
    // A stop that cannot finish (a dependency gone) must not keep the process alive: exit non-zero after 15 s.
    setTimeout(() => process.exit(1), 15_000).unref();
    gw.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} catch (err) {
  log.fatal({ err, code: err instanceof PxError ? err.code : undefined }, "the gateway cannot start");
  process.exit(1);
}
