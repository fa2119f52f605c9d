/** A real Prometheus for a test: the console package's local Prometheus (Debian's binary), stopped by stop(). */
export { startLocalPrometheus as startTestPrometheus, type LocalPrometheus as TestPrometheus, type ScrapeTarget } from "@parcel-exchange/console";
