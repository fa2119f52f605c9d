/** Policy service entry point: validates configuration, serves the API, publishes and schedules policies. */
import { ConfigError, createLogger, loadConfig, verifyKafkaAccess, type Config } from "@parcel-exchange/shared";
import { startPolicyService } from "./start.js";
import { Users } from "./users.js";

async function main(): Promise<void> {
  let config: Config;
  let users: Users;
  try {
    config = loadConfig();
    users = Users.fromFile(config.policyService.usersFile);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`policy service: invalid configuration: ${err.message}`);
      process.exit(78);
    }
    throw err;
  }
  const log = createLogger("policy", config.logLevel);
  try {
    await verifyKafkaAccess(config, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`policy service: invalid configuration: ${err.message}`);
      process.exit(78);
    }
    throw err;
  }
  const running = await startPolicyService(config, log, { users });
  const port = (running.server.address() as { port: number }).port;
  const version = running.service.currentVersion();
  log.info({ port, version, keyId: running.keyId }, "policy service listening");
  process.stdout.write(`${JSON.stringify({ event: "policy_service_started", port, version })}\n`);
  const stop = async () => {
    await running.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((err: unknown) => {
  console.error("policy service: fatal", err);
  process.exit(1);
});
