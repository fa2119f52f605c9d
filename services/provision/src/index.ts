export * from "./errors.js";
export * from "./plan.js";
export * from "./credentials.js";
export * from "./apply.js";
export * from "./provision.js";
