/**
 * The decision package: what a policy decides for one recipient and how a record is changed accordingly.
 * Used by the router (per record), the policy service (exact impact, dry run) and the demo. Import it through
 * this index only.
 */
export { SchemaCatalog, type CatalogEntry, type SchemaSource } from "./catalog.js";
export { validateDecision, type Decision, type FieldDecision, type PolicyInput } from "./decision.js";
export { PolicyEngine, type DecisionEngine, type EvalResult } from "./engine.js";
export { makePlan, type FieldOp, type RecipientPlan } from "./plan.js";
export { FIELD_ACTIONS, transformFor, type FieldAction, type FieldTransform, type TransformSettings } from "./transforms/index.js";
export { recipientKey, tokenOf } from "./transforms/token.js";
