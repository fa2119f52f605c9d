/** Policy service entry point: validates configuration, serves the API, publishes and schedules policies. */
import { ConfigError, createKafka, createLogger, createMetricsRegistry, loadConfig, loadSigner, type Config } from "../../shared/src/index.js";
import { LedgerStore } from "../../ledger/src/index.js";
import { policyApi } from "./http.js";
import { PolicyService } from "./service.js";
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
  const kafka = createKafka(config, log);
  const signer = loadSigner(config);
  const ledger = await LedgerStore.open({ config, kafka, log, signer });
  const service = await PolicyService.start({ config, kafka, log, signer, ledger });
  const server = policyApi(service, users, log, createMetricsRegistry("policy"));
  await new Promise<void>((ok) => server.listen(config.policyService.port, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  log.info({ port, version: service.currentVersion(), keyId: signer.keyId }, "policy service listening");
  process.stdout.write(`${JSON.stringify({ event: "policy_service_started", port, version: service.currentVersion() })}\n`);
  const stop = async () => {
    server.close();
    await service.stop();
    await ledger.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((err: unknown) => {
  console.error("policy service: fatal", err);
  process.exit(1);
});
