import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MaskConfig } from "@parcel-exchange/shared";
import { coarsenTransform } from "./coarsen.js";
import { dropTransform } from "./drop.js";
import { FIELD_ACTIONS, transformFor, type TransformSettings } from "./index.js";
import { maskAddressDetail, maskGeneric, maskMiddle, maskName, maskPhone, maskTransform } from "./mask.js";
import { recipientKey, tokenOf, tokenTransform } from "./token.js";

const MASKS: MaskConfig = { phone: { keepStart: 3, keepEnd: 2 }, name: { keepStart: 1 } };
const SETTINGS: TransformSettings = { masks: MASKS, tokenKey: "unit-test-master-key-0123456789abcdef" };

const stars = (s: string): number => Array.from(s).filter((c) => c === "*").length;

const address = (detail: string | null) => ({ province: "广东省", city: "深圳市", district: "南山区", detail });

describe("phone mask", () => {
  it("hides six of eleven digits with the default 3:2", () => {
    expect(maskPhone("13812345678", MASKS.phone)).toBe("138******78");
  });

  it("hides at least six digits of a short number, dropping the kept ends first", () => {
    expect(maskPhone("5551234", MASKS.phone)).toBe("5******");
    expect(maskPhone("55512345", MASKS.phone)).toBe("55******");
    expect(maskPhone("123456", MASKS.phone)).toBe("******");
    expect(maskPhone("12345", MASKS.phone)).toBe("*****");
    expect(maskPhone("", MASKS.phone)).toBe("");
  });

  it("follows the configured keep counts but never hides fewer than six", () => {
    expect(maskPhone("13812345678", { keepStart: 0, keepEnd: 4 })).toBe("*******5678");
    expect(maskPhone("13812345678", { keepStart: 5, keepEnd: 5 })).toBe("13812******");
    expect(maskPhone("+8613812345678", MASKS.phone)).toBe("+86*********78");
  });

  it("property: an 11-digit number keeps its length and has at least six digits hidden", () => {
    const digits11 = fc.array(fc.constantFrom(..."0123456789"), { minLength: 11, maxLength: 11 }).map((a) => a.join(""));
    const keep = fc.record({ keepStart: fc.nat({ max: 11 }), keepEnd: fc.nat({ max: 11 }) });
    fc.assert(
      fc.property(digits11, keep, (phone, cfg) => {
        const m = maskPhone(phone, cfg);
        expect(m).toHaveLength(11);
        expect(stars(m)).toBeGreaterThanOrEqual(6);
        // What stays visible is the original digit at the same place.
        for (let i = 0; i < 11; i++) if (m[i] !== "*") expect(m[i]).toBe(phone[i]);
      }),
    );
    fc.assert(
      fc.property(digits11, (phone) => {
        const m = maskPhone(phone, MASKS.phone);
        expect(m).toBe(`${phone.slice(0, 3)}******${phone.slice(9)}`);
      }),
    );
  });
});

describe("name mask", () => {
  it("keeps the first character and hides the rest", () => {
    expect(maskName("张三", MASKS.name)).toBe("张*");
    expect(maskName("欧阳娜娜", MASKS.name)).toBe("欧***");
    expect(maskName("Alice", MASKS.name)).toBe("A****");
  });

  it("hides a single-character name completely", () => {
    expect(maskName("李", MASKS.name)).toBe("*");
    expect(maskName("X", { keepStart: 5 })).toBe("*");
  });

  it("hides at least one character whatever keepStart is", () => {
    expect(maskName("王小明", { keepStart: 10 })).toBe("王小*");
    expect(maskName("王小明", { keepStart: 0 })).toBe("***");
  });

  it("counts by code point, so characters outside the BMP are not split", () => {
    // U+20000 and U+20001 are CJK Extension B ideographs: two UTF-16 units each.
    expect(maskName("\u{20000}\u{20001}", MASKS.name)).toBe("\u{20000}*");
    expect(maskName("\u{20000}", MASKS.name)).toBe("*");
  });

  it("property: at least one code point is hidden and the length in code points is kept", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-ascii", minLength: 1 }), fc.nat({ max: 20 }), (name, keepStart) => {
        const m = maskName(name, { keepStart });
        expect(Array.from(m)).toHaveLength(Array.from(name).length);
        expect(m.endsWith("*")).toBe(true);
      }),
    );
  });
});

describe("maskMiddle and the generic mask", () => {
  it("keeps both ends and hides at least minHidden", () => {
    expect(maskMiddle("abcdefghij", 2, 2, 3)).toBe("ab******ij");
    expect(maskMiddle("abcdefghij", 2, 2, 8)).toBe("ab********");
  });

  it("property: cuts by code point, with or without characters outside the BMP (string fast path = reference)", () => {
    const reference = (s: string, keepStart: number, keepEnd: number, minHidden: number): string => {
      const chars = Array.from(s);
      const n = chars.length;
      if (n === 0) return s;
      const hide = Math.min(n, Math.max(minHidden, n - keepStart - keepEnd));
      const end = Math.min(keepEnd, Math.max(0, n - hide - keepStart));
      const start = Math.min(keepStart, n - hide - end);
      return chars.slice(0, start).join("") + "*".repeat(n - start - end) + chars.slice(n - end).join("");
    };
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme-ascii" })), fc.nat({ max: 12 }), fc.nat({ max: 12 }), fc.nat({ max: 12 }), (s, a, b, m) => {
        expect(maskMiddle(s, a, b, m)).toBe(reference(s, a, b, m));
      }),
    );
  });

  it("the generic mask shows only the first (and on long values the last) character", () => {
    expect(maskGeneric("S12345")).toBe("S*****");
    expect(maskGeneric("EMP-20231107")).toBe("E**********7");
  });
});

describe("address mask", () => {
  it.each([
    ["科技园路88号A栋3单元502室", "科技园路88号A栋"],
    ["南山区科技园路88号腾讯大厦1203室", "南山区科技园路88号腾讯大厦"],
    ["朝阳区建国路1号院2号楼3单元401户", "朝阳区建国路1号院2号楼"],
    ["88 Keyuan Road, Building A, Unit 5", "88 Keyuan Road, Building A"],
    ["88 Keyuan Road, Room 1203", "88 Keyuan Road"],
    ["88 Keyuan Road #12", "88 Keyuan Road"],
    ["Tower B, 1 Harbour Road, Apt. 7C", "Tower B, 1 Harbour Road"],
  ])("%j → %j", (detail, expected) => {
    expect(maskAddressDetail(detail)).toBe(expected);
  });

  it("leaves an address without unit/room unchanged", () => {
    expect(maskAddressDetail("科技园路88号")).toBe("科技园路88号");
    expect(maskAddressDetail("88 Keyuan Road")).toBe("88 Keyuan Road");
  });

  // Known bug: the Latin unit/room pattern has no word boundary after the keyword, so street names that begin
  // with "fl", "unit", "apt", "room", "suite"... are erased: "12 Flower Street, Room 1203" → "12 Street".
  // When this starts failing, the bug is fixed: turn it into a plain `it`.
  it("keeps street names that begin with a unit keyword (Flower, United, Aptos)", () => {
    expect(maskAddressDetail("12 Flower Street, Room 1203")).toBe("12 Flower Street");
    expect(maskAddressDetail("1 United Plaza, Tower B #12")).toBe("1 United Plaza, Tower B");
    expect(maskAddressDetail("5 Aptos Road, Apt 3")).toBe("5 Aptos Road");
  });

  it("the mask transform keeps the region and strips only unit/room from the detail", () => {
    const t = maskTransform("pii.address", MASKS);
    const input = address("科技园路88号A栋3单元502室");
    expect(t.apply(input)).toEqual(address("科技园路88号A栋"));
    expect(input.detail).toBe("科技园路88号A栋3单元502室");
    expect(t.apply(address(null))).toEqual(address(null));
  });
});

describe("maskTransform by class", () => {
  it("uses the phone rule for pii.phone, the name rule for pii.name and the generic rule otherwise", () => {
    expect(maskTransform("pii.phone", MASKS).apply("13812345678")).toBe("138******78");
    expect(maskTransform("pii.name", MASKS).apply("张三丰")).toBe("张**");
    expect(maskTransform("staff.pii", MASKS).apply("Zhou Jie")).toBe("Z******e");
    expect(maskTransform("pii.phone", { phone: { keepStart: 0, keepEnd: 4 }, name: { keepStart: 1 } }).apply("13812345678")).toBe("*******5678");
  });

  it("turns a value it cannot mask into null", () => {
    expect(maskTransform("business", MASKS).apply(42)).toBeNull();
    expect(maskTransform("business", MASKS).apply({ a: 1 })).toBeNull();
    expect(maskTransform("pii.phone", MASKS).action).toBe("mask");
  });
});

describe("token", () => {
  const zto = tokenTransform(SETTINGS.tokenKey, "zto");
  const hive = tokenTransform(SETTINGS.tokenKey, "hive-box");

  it("is stable for one recipient", () => {
    expect(zto.apply("13812345678")).toBe(zto.apply("13812345678"));
    expect(tokenTransform(SETTINGS.tokenKey, "zto").apply("13812345678")).toBe(zto.apply("13812345678"));
    expect(zto.apply("13812345678")).toMatch(/^tok_[A-Za-z0-9_-]{22}$/);
  });

  it("differs across recipients, across values and across master keys", () => {
    expect(zto.apply("13812345678")).not.toBe(hive.apply("13812345678"));
    expect(zto.apply("13812345678")).not.toBe(zto.apply("13812345679"));
    expect(tokenTransform(`${SETTINGS.tokenKey}x`, "zto").apply("13812345678")).not.toBe(zto.apply("13812345678"));
    expect(recipientKey(SETTINGS.tokenKey, "zto").equals(recipientKey(SETTINGS.tokenKey, "hive-box"))).toBe(false);
  });

  it("property: never contains the input and is unlinkable across recipients", () => {
    const key = recipientKey(SETTINGS.tokenKey, "taobao");
    fc.assert(
      fc.property(fc.string({ minLength: 6 }), (v) => {
        const t = tokenOf(key, v);
        expect(t.includes(v)).toBe(false);
        expect(zto.apply(v)).not.toBe(hive.apply(v));
      }),
    );
  });

  it("turns an address into an opaque detail with the region emptied", () => {
    const a = zto.apply(address("科技园路88号A栋3单元502室")) as ReturnType<typeof address>;
    expect(a).toMatchObject({ province: "", city: "", district: "" });
    expect(a.detail).toMatch(/^tok_/);
    expect(a.detail).not.toContain("科技园路");
    // Stable per recipient; different region → different token.
    expect(zto.apply(address("科技园路88号A栋3单元502室"))).toEqual(a);
    expect((zto.apply({ ...address("科技园路88号A栋3单元502室"), city: "广州市" }) as { detail: string }).detail).not.toBe(a.detail);
    expect((hive.apply(address("科技园路88号A栋3单元502室")) as { detail: string }).detail).not.toBe(a.detail);
  });

  it("turns other values into null", () => {
    expect(zto.apply(7)).toBeNull();
  });
});

describe("coarsen", () => {
  it("keeps province, city and district of an address and nulls the detail", () => {
    const input = address("科技园路88号A栋3单元502室");
    expect(coarsenTransform("pii.address").apply(input)).toEqual(address(null));
    expect(input.detail).toBe("科技园路88号A栋3单元502室");
  });

  it("keeps the carrier prefix of a phone number", () => {
    expect(coarsenTransform("pii.phone").apply("13812345678")).toBe("138");
  });

  it("drops values with no coarse form", () => {
    expect(coarsenTransform("pii.name").apply("张三")).toBeNull();
    expect(coarsenTransform("business").apply("ORD-1")).toBeNull();
  });
});

describe("drop", () => {
  it("always yields null", () => {
    expect(dropTransform.action).toBe("drop");
    for (const v of ["13812345678", address("x"), 0, ""]) expect(dropTransform.apply(v)).toBeNull();
  });
});

describe("transformFor", () => {
  it("lists every action", () => {
    expect([...FIELD_ACTIONS].sort()).toEqual(["coarsen", "drop", "keep", "mask", "token"]);
  });

  it("picks the transform by action, with the class and recipient applied", () => {
    expect(transformFor("drop", "pii.phone", "zto", SETTINGS)).toBe(dropTransform);

    const mask = transformFor("mask", "pii.phone", "zto", SETTINGS);
    expect(mask.action).toBe("mask");
    expect(mask.apply("13812345678")).toBe("138******78");

    const coarsen = transformFor("coarsen", "pii.address", "zto", SETTINGS);
    expect(coarsen.action).toBe("coarsen");
    expect(coarsen.apply(address("科技园路88号"))).toEqual(address(null));

    const token = transformFor("token", "pii.phone", "zto", SETTINGS);
    expect(token.action).toBe("token");
    expect(token.apply("13812345678")).toBe(tokenOf(recipientKey(SETTINGS.tokenKey, "zto"), "13812345678"));
    expect(transformFor("token", "pii.phone", "jd", SETTINGS).apply("13812345678")).not.toBe(token.apply("13812345678"));
  });

  it("uses the configured mask settings", () => {
    const t = transformFor("mask", "pii.name", "zto", { ...SETTINGS, masks: { ...MASKS, name: { keepStart: 2 } } });
    expect(t.apply("欧阳娜娜")).toBe("欧阳**");
  });
});
