/** The API definitions live in their own package (services/policy-api), shared with `px` and other clients. */
export * from "@parcel-exchange/policy-api";
