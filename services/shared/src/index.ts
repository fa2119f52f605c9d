export * from "./config.js";
export * from "./errors.js";
export * from "./kafka.js";
export * from "./logger.js";
export * from "./metrics.js";
export * from "./registry.js";
export * from "./schemas.js";
export * from "./topics.js";
