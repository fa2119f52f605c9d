import { describe, expect, it } from "vitest";
import type { Contract } from "./api.js";
import { authorizeApply, authorizeApprove, authorizePropose, authorizeReject, authorizeRollback, mayReadProposal, type ContractsInForce } from "./authz.js";
import { ForbiddenError } from "./errors.js";
import type { User } from "./users.js";

const user = (id: string, role: User["role"], party?: string): User => ({ id, role, ...(party ? { party } : {}), keySha256: "0".repeat(64) });
const regulator = user("regulator:spb", "regulator");
const jd = user("party:jd", "party", "jd");
const taobao = user("party:taobao", "party", "taobao");
const viewer = user("viewer:x", "viewer");
const contract = (id: string, parties: [string, string]): Contract => ({ id, parties, grants: [] });
const inForce: ContractsInForce = { "jd--zto": { parties: ["jd", "zto"] } };

const forbidden = (fn: () => void, message: RegExp) => {
  expect(fn).toThrow(ForbiddenError);
  expect(fn).toThrow(message);
};

describe("authorization", () => {
  it("lets a party propose changes to its own contracts only, and only contracts", () => {
    expect(() => authorizePropose(jd, { contracts: { "jd--zto": contract("jd--zto", ["jd", "zto"]) } }, inForce)).not.toThrow();
    expect(() => authorizePropose(jd, { contracts: { "jd--zto": null } }, inForce)).not.toThrow(); // a side may remove it
    forbidden(() => authorizePropose(taobao, { contracts: { "jd--zto": contract("jd--zto", ["jd", "zto"]) } }, inForce), /not a side of contract jd--zto/);
    forbidden(() => authorizePropose(taobao, { contracts: { "jd--zto": null } }, inForce), /not a side/);
    forbidden(() => authorizePropose(jd, { rego: { "router/x.rego": "package x" } }, inForce), /only contracts/);
    forbidden(() => authorizePropose(jd, { parties: { newco: { kind: "courier" } } }, inForce), /only contracts/);
    forbidden(() => authorizePropose(jd, {}, inForce), /touches no contract/);
    forbidden(() => authorizePropose(viewer, { contracts: {} }, inForce), /viewer/);
  });

  it("lets a regulator propose anything", () => {
    expect(() => authorizePropose(regulator, { rego: { "router/x.rego": null }, parties: { newco: null } }, inForce)).not.toThrow();
  });

  it("lets the sides and regulators approve; only regulators give immediate effect", () => {
    const p = { requiredSides: ["jd", "zto"] };
    expect(() => authorizeApprove(jd, p, false)).not.toThrow();
    expect(() => authorizeApprove(regulator, p, true)).not.toThrow();
    forbidden(() => authorizeApprove(taobao, p, false), /not a side/);
    forbidden(() => authorizeApprove(jd, p, true), /only a regulator/);
    forbidden(() => authorizeApprove(viewer, p, false), /viewer/);
  });

  it("keeps apply and rollback to regulators", () => {
    expect(() => authorizeApply(regulator)).not.toThrow();
    expect(() => authorizeRollback(regulator)).not.toThrow();
    for (const u of [jd, viewer]) {
      forbidden(() => authorizeApply(u), /only a regulator/);
      forbidden(() => authorizeRollback(u), /only a regulator/);
    }
  });
  it("lets a side of the proposal's contracts or a regulator reject it, and nobody else", () => {
    const p = { requiredSides: ["jd", "zto"] };
    expect(() => authorizeReject(jd, p)).not.toThrow();
    expect(() => authorizeReject(regulator, p)).not.toThrow();
    forbidden(() => authorizeReject(taobao, p), /not a side/);
    forbidden(() => authorizeReject(viewer, p), /viewer/);
  });
  it("shows a party only the proposals on its contracts and those it wrote; regulators and viewers all", () => {
    const p = { requiredSides: ["jd", "zto"], author: "party:zto" };
    expect(mayReadProposal(jd, p)).toBe(true);
    expect(mayReadProposal(taobao, p)).toBe(false);
    expect(mayReadProposal(taobao, { ...p, author: "party:taobao" })).toBe(true);
    expect(mayReadProposal(regulator, p)).toBe(true);
    expect(mayReadProposal(viewer, p)).toBe(true);
  });
});
