/** Policy build: compiles policies/ to a Wasm bundle, runs `opa test`, and publishes signed bundles. */
export * from "./build.js";
export * from "./opa.js";
export * from "./opa-test.js";
export * from "./publish.js";
