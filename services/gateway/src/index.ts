/** The HTTP gateway: publish over HTTP, receive by Standard Webhooks or Server-Sent Events. */
export { startGateway, type RunningGateway, type StartGatewayOptions } from "./start.js";
export { GATEWAY_ERRORS, GATEWAY_ERROR_CODES, GatewayError, type GatewayErrorCode } from "./errors.js";
export { webhookIdOf } from "./webhooks/dispatcher.js";
export { parsePositions, formatPositions } from "./stream.js";
