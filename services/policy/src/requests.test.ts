import { describe, expect, it } from "vitest";
import { problemsOf } from "./problems.testkit.js";
import { changeProblems, parseApproveRequest, parseEvaluateRequest, parseNoBody, parseProposeRequest, parseRollbackRequest } from "./requests.js";


describe("request bodies", () => {
  const change = { contracts: { "jd--zto": { id: "jd--zto", parties: ["jd", "zto"], grants: [] } } };

  it("accepts well-formed bodies as they are", () => {
    expect(parseEvaluateRequest({ change })).toEqual({ change });
    expect(parseProposeRequest({ change, description: "d" })).toEqual({ change, description: "d" });
    expect(parseApproveRequest({})).toEqual({});
    expect(parseApproveRequest({ immediate: true })).toEqual({ immediate: true });
    expect(parseRollbackRequest({ version: "v1" })).toEqual({ version: "v1" });
    expect(parseNoBody({})).toBeUndefined();
  });

  it("lists every problem of a body at once", () => {
    expect(problemsOf(() => parseProposeRequest({ description: "", extra: 1 }))).toEqual(["'change' is required", "unknown key 'extra'", "'description' must be a non-empty string"]);
    expect(problemsOf(() => parseApproveRequest({ immediate: "yes" }))).toEqual(["'immediate' must be true or false"]);
    expect(problemsOf(() => parseApproveRequest({ imediate: true }))).toEqual(["unknown key 'imediate'"]);
    expect(problemsOf(() => parseRollbackRequest({}))).toEqual(["'version' is required"]);
    expect(problemsOf(() => parseNoBody({ x: 1 }))).toEqual(["unknown key 'x'"]);
  });

  it("names the problems of a change by their path in the body", () => {
    expect(changeProblems("x")).toEqual(["change must be a JSON object with contracts, rego and/or parties"]);
    expect(
      changeProblems({
        contracts: { a: { id: "b", parties: ["a"], grants: {}, notice_days: -1 }, gone: null },
        rego: { "lib/x.rego": 3 },
        parties: { "Bad Id": { kind: "bank" } },
        other: 1,
      }),
    ).toEqual([
      "change has unknown key 'other' (expected contracts, rego, parties)",
      "change.contracts.a.id must be 'a'",
      "change.contracts.a.parties must name the two parties",
      "change.contracts.a.grants must be an array",
      "change.contracts.a.notice_days must be a non-negative number",
      "change.rego path 'lib/x.rego' must be router/<name>.rego, the name of lower-case letters, digits and '_'",
      "change.rego.lib/x.rego must be text or null",
      "change.parties id 'Bad Id' must be lower-case letters, digits and '-'",
      "change.parties.Bad Id.kind must be marketplace, courier or locker",
    ]);
    expect(problemsOf(() => parseEvaluateRequest({ change: { rego: "x" } }))).toEqual(["change.rego must be an object of path → Rego text (or null to remove)"]);
  });

  it("accepts the ids of every shipped contract and refuses ids and Rego paths that are not plain names", async () => {
    const { readdir, readFile } = await import("node:fs/promises");
    const dir = new URL("../../../policies/contracts/", import.meta.url);
    const ids: string[] = [];
    for (const f of await readdir(dir)) ids.push(...Object.keys((JSON.parse(await readFile(new URL(f, dir), "utf8")) as { contracts: object }).contracts));
    expect(ids).toContain("jd--zto");
    expect(changeProblems({ contracts: Object.fromEntries(ids.map((id) => [id, null])) })).toEqual([]);
    for (const id of ["../x", "../../tmp/x", "a/b", "a.b", ".", "..", "", "JD--zto", "-a", "a--b/c", "a b"]) {
      const c = { id, parties: ["jd", "zto"], grants: [] };
      expect(changeProblems({ contracts: { [id]: c } }), id).toContain(`change.contracts id '${id}' must be lower-case letters, digits and '-' (e.g. jd--zto)`);
      expect(changeProblems({ contracts: { [id]: null } }), `${id} removed`).toHaveLength(1);
    }
    for (const path of ["router/../x.rego", "router/a.b.rego", "router/x/../../y.rego", "router/.rego", "router/X.rego", "router/a-b.rego", "/etc/x.rego", "router/x.rego/"]) {
      expect(changeProblems({ rego: { [path]: "package x\n" } }), path).toEqual([`change.rego path '${path}' must be router/<name>.rego, the name of lower-case letters, digits and '_'`]);
    }
    expect(changeProblems({ rego: { "router/zz_fail_test.rego": "package x\n", "router/extra.rego": null } })).toEqual([]);
  });
});
