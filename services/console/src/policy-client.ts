/**
 * The console's calls to the policy service, typed by the API's route table (@parcel-exchange/policy-api).
 * Each call carries the signed-in user's own key: the console adds no rights of its own, so every refusal
 * `px` would get, the console gets too, with the same status.
 */
import { API_ROUTES, apiPath, type ApiResponses, type Operation, type PathParams, type RequestOf } from "@parcel-exchange/policy-api";
import { ConsoleError, fromPolicyAnswer } from "./errors.js";

const TIMEOUT_MS = 30_000;

export interface CallOptions<O extends Operation> {
  readonly params?: PathParams<O>;
  readonly body?: RequestOf<O>;
}

export class PolicyClient {
  constructor(private readonly baseUrl: string) {}

  async call<O extends Operation>(key: string, op: O, o: CallOptions<O> = {}): Promise<ApiResponses[O]> {
    const route = API_ROUTES[op];
    const path = apiPath(op, (o.params ?? {}) as PathParams<O>);
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.baseUrl.replace(/\/+$/, "")}${path}`, {
        method: route.method,
        headers: { authorization: `Bearer ${key}`, accept: "application/json", ...(o.body === undefined ? {} : { "content-type": "application/json" }) },
        ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      text = await res.text();
    } catch (err) {
      throw new ConsoleError("UNAVAILABLE", `the policy service at ${this.baseUrl} did not answer ${route.method} ${path} (${(err as Error).message})`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ConsoleError("UNAVAILABLE", `the policy service answered ${route.method} ${path} with ${res.status} and a body that is not JSON`);
    }
    if (res.status !== route.status) throw fromPolicyAnswer(route.summary, res.status, (body ?? {}) as Record<string, unknown>);
    return body as ApiResponses[O];
  }
}
