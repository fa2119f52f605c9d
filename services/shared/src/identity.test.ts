import { describe, expect, it } from "vitest";
import { isPartyId, partyOfPrincipal, principalOf } from "./identity.js";

describe("principals", () => {
  it("a party's or service's username is <prefix>.<id>", () => {
    expect(principalOf("px", "zto")).toBe("px.zto");
    expect(principalOf("px", "router")).toBe("px.router");
    expect(principalOf("pxt.r1.abc", "hive-box")).toBe("pxt.r1.abc.hive-box");
  });

  it("partyOfPrincipal is its inverse", () => {
    for (const [prefix, id] of [["px", "zto"], ["px", "sf-express"], ["pxt.r1.abc", "hive-box"], ["px", "0"]] as const) {
      expect(partyOfPrincipal(prefix, principalOf(prefix, id))).toBe(id);
    }
  });

  it("names no party for another deployment's or a foreign username", () => {
    for (const u of ["zto", "px", "px.", "px.Zto", "px.-zto", "px.z_to", "px.sf.express", "pxt.zto", "pxzto", "admin", ""]) {
      expect(partyOfPrincipal("px", u), u).toBeUndefined();
    }
    expect(partyOfPrincipal("px.demo", "px.zto")).toBeUndefined();
    expect(partyOfPrincipal("px", "px.demo.zto")).toBeUndefined();
  });

  it("party ids are lowercase letters, digits and '-', not starting with '-'", () => {
    expect(["zto", "sf-express", "9lives", "a-"].every(isPartyId)).toBe(true);
    expect(["", "-a", "A", "a.b", "a_b", "a b", 7, undefined].some(isPartyId)).toBe(false);
  });
});
