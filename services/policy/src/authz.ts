/**
 * Who may do what (authentication is users.ts). Regulators may do anything; a party may propose and approve
 * changes to the contracts it is a side of, and nothing else; a viewer only reads. Each check returns
 * nothing or throws ForbiddenError naming the reason.
 */
import type { Contract, PolicyChange, Proposal } from "./api.js";
import { ForbiddenError } from "./errors.js";
import { touchesOnlyContracts } from "./change.js";
import type { User } from "./users.js";

/** The contracts in force, by id (the `contracts` document of the bundle's data). */
export type ContractsInForce = Readonly<Record<string, Pick<Contract, "parties"> | undefined>>;

export function authorizePropose(user: User, change: PolicyChange, contractsInForce: ContractsInForce): void {
  if (user.role === "viewer") throw new ForbiddenError(`${user.id} is a viewer and may not propose changes`);
  if (user.role !== "party") return;
  if (!touchesOnlyContracts(change)) throw new ForbiddenError(`${user.id} may change only contracts; rules and parties are the regulator's`);
  const ids = Object.keys(change.contracts ?? {});
  if (ids.length === 0) throw new ForbiddenError(`${user.id}: the change touches no contract`);
  for (const id of ids) {
    const sides = new Set([...(contractsInForce[id]?.parties ?? []), ...(change.contracts![id]?.parties ?? [])]);
    if (!sides.has(user.party!)) throw new ForbiddenError(`${user.id} is not a side of contract ${id}`);
  }
}

export function authorizeApprove(user: User, p: Pick<Proposal, "requiredSides">, immediate: boolean): void {
  if (user.role === "viewer") throw new ForbiddenError(`${user.id} is a viewer and may not approve`);
  if (user.role === "party" && !p.requiredSides.includes(user.party!)) throw new ForbiddenError(`${user.id} is not a side of the contracts this proposal changes`);
  if (immediate && user.role !== "regulator") throw new ForbiddenError("only a regulator may give a change immediate effect");
}

/** Putting a proposal into effect before its notice period ends. */
export function authorizeApply(user: User): void {
  if (user.role !== "regulator") throw new ForbiddenError("only a regulator may apply a change before its notice period ends");
}

export function authorizeRollback(user: User): void {
  if (user.role !== "regulator") throw new ForbiddenError("only a regulator may roll back");
}

/** Turning a proposal down: a side of the contracts it changes, or a regulator. */
export function authorizeReject(user: User, p: Pick<Proposal, "requiredSides">): void {
  if (user.role === "viewer") throw new ForbiddenError(`${user.id} is a viewer and may not reject`);
  if (user.role === "party" && !p.requiredSides.includes(user.party!)) throw new ForbiddenError(`${user.id} is not a side of the contracts this proposal changes`);
}

/**
 * Whether a user may see a proposal: regulators and viewers see all; a party the proposals on contracts it is a
 * side of, and those it wrote. Another party's negotiation (and its dry run on recent traffic) is not its business.
 */
export function mayReadProposal(user: User, p: Pick<Proposal, "requiredSides" | "author">): boolean {
  return user.role !== "party" || p.requiredSides.includes(user.party!) || p.author === user.id;
}
