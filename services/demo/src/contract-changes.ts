/** The contract changes of "1 June", as each side proposes them in the demo (and the live-change test). */
import type { Contract } from "@parcel-exchange/policy";

export function hiveBoxNarrowsTaobao(contract: Contract): Contract {
  const grants = (contract.grants as { from: string; to: string; scope: string; classes: Record<string, string> }[]).map((g) =>
    g.from === "hive-box" && g.to === "taobao" ? { ...g, scope: "own_orders", classes: Object.fromEntries(Object.entries(g.classes).filter(([k]) => k !== "secret.pickup_code")) } : g,
  );
  return { ...contract, grants };
}

export function sfWithdrawsTaobaoTracking(contract: Contract): Contract {
  return { ...contract, grants: (contract.grants as { from: string; to: string }[]).filter((g) => !(g.from === "sf-express" && g.to === "taobao")) };
}

