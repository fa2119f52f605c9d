/** The px command-line client as a library: `main(argv, io)` runs one command and resolves with its exit code. */
export { main } from "./main.js";
