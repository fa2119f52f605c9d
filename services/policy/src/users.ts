/**
 * Who may do what. Users and their API keys come from a JSON file (PX_USERS_FILE): keys are kept only as
 * SHA-256 hashes. Roles: `regulator` (floor, ceiling, any contract, rollback, immediate effect), `party`
 * (proposes and approves changes to contracts it is a side of, manages its own webhook endpoints), `viewer`
 * (reads), `gateway` (the HTTP gateway: reads webhook targets with their secrets, disables failing endpoints).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "@parcel-exchange/shared";
import { ROLES, type Role } from "./api.js";
import { UnauthenticatedError } from "./errors.js";

export interface User {
  readonly id: string;
  readonly role: Role;
  /** For role `party`: the party id it speaks for. */
  readonly party?: string;
  readonly keySha256: string;
}

export const hashKey = (key: string): string => createHash("sha256").update(key).digest("hex");

export class Users {
  private readonly byHash: Map<string, User>;

  constructor(users: readonly User[]) {
    this.byHash = new Map(users.map((u) => [u.keySha256, u]));
  }

  static fromFile(file: string): Users {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new ConfigError("PX_USERS_FILE", `cannot read users from ${file} (${(err as Error).message})`, "point PX_USERS_FILE at a JSON file {\"users\": [{id, role, party?, keySha256}]}");
    }
    const list = (raw as { users?: unknown }).users;
    if (!Array.isArray(list)) throw new ConfigError("PX_USERS_FILE", `${file} has no "users" array`, "write {\"users\": [...]}");
    const users = list.map((u: Record<string, unknown>, i) => {
      if (typeof u.id !== "string" || !(ROLES as readonly string[]).includes(String(u.role)) || typeof u.keySha256 !== "string" || !/^[0-9a-f]{64}$/.test(u.keySha256)) {
        throw new ConfigError("PX_USERS_FILE", `users[${i}] needs id, role (${ROLES.join("|")}) and keySha256 (64 hex)`, "fix that entry");
      }
      if (u.role === "party" && typeof u.party !== "string") throw new ConfigError("PX_USERS_FILE", `users[${i}] has role party but no party id`, "add \"party\": \"<id>\"");
      return { id: u.id, role: u.role as Role, ...(typeof u.party === "string" ? { party: u.party } : {}), keySha256: u.keySha256 };
    });
    return new Users(users);
  }

  /** The user behind an `Authorization: Bearer <key>` header. */
  authenticate(header: string | undefined): User {
    const m = /^Bearer\s+(\S+)$/.exec(header ?? "");
    if (!m) throw new UnauthenticatedError("missing API key: send Authorization: Bearer <key>");
    const h = hashKey(m[1]!);
    for (const [known, user] of this.byHash) {
      if (timingSafeEqual(Buffer.from(known), Buffer.from(h))) return user;
    }
    throw new UnauthenticatedError("unknown API key");
  }
}
