/** Wires the policy service together: its ledger, the service itself and its HTTP API, listening. */
import type { Server } from "node:http";
import { ConfigError, createKafka, createMetricsRegistry, loadSigner, loadVerifier, type Config, type Logger } from "@parcel-exchange/shared";
import { LedgerStore } from "@parcel-exchange/ledger";
import { policyApi } from "./http.js";
import { PolicyService } from "./service.js";
import { Users } from "./users.js";

export interface RunningPolicyService {
  readonly service: PolicyService;
  readonly ledger: LedgerStore;
  readonly server: Server;
  /** Base URL of its HTTP API. */
  readonly url: string;
  readonly keyId: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Port to listen on (0 picks a free one); defaults to PX_POLICY_PORT. */
  readonly port?: number;
  readonly users?: Users;
  /** Clock, replaceable in tests. */
  readonly now?: () => number;
}

export async function startPolicyService(config: Config, log: Logger, opts: StartOptions = {}): Promise<RunningPolicyService> {
  const kafka = createKafka(config, log);
  const signer = loadSigner(config);
  const verifier = loadVerifier(config);
  if (verifier.keyId !== signer.keyId) throw new ConfigError("PX_VERIFY_KEY_FILE", `the public key (${verifier.keyId}) is not the signing key's (${signer.keyId})`, "point PX_VERIFY_KEY_FILE at the public key of PX_SIGNING_KEY_FILE");
  // A writer verifies the whole ledger (hashes, links, signatures) before it appends; a forged entry stops the start.
  const ledger = await LedgerStore.open({ config, kafka, log, signer, verifier });
  const metrics = createMetricsRegistry("policy");
  const service = await PolicyService.start({ config, kafka, log, signer, verifier, ledger, metrics, ...(opts.now ? { now: opts.now } : {}) });
  const server = policyApi(service, opts.users ?? Users.fromFile(config.policyService.usersFile), log, metrics, config.webhooks);
  await new Promise<void>((ok) => server.listen(opts.port ?? config.policyService.port, "127.0.0.1", ok));
  return {
    service,
    ledger,
    server,
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    keyId: signer.keyId,
    async stop() {
      server.close();
      await service.stop();
      await ledger.close();
    },
  };
}
