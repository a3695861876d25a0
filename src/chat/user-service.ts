// Users seen in tokens are upserted once per node and then remembered, so an authenticated
// request costs no database write; the cache also answers "is this user banned?". A ban is
// announced to every node (see realtime/) which drops the entry at once; the TTL bounds how stale
// an entry can get if that announcement is missed.
import type { Principal } from "../auth/token-verifier.js";
import type { UserRepository } from "../db/user-repository.js";
import { bannedAccount } from "../errors/errors.js";

const CACHE_TTL_MS = 60_000;
const CACHE_MAX_ENTRIES = 50_000;

export class UserService {
  private readonly known = new Map<string, { bannedAt: Date | null; until: number }>();

  constructor(private readonly users: UserRepository) {}

  /** Ensures the user exists and is not banned; service principals are not users. */
  async admit(principal: Principal): Promise<void> {
    if (principal.role === "service") return;
    const now = Date.now();
    let entry = this.known.get(principal.userId);
    if (!entry || entry.until < now) {
      const state = await this.users.ensureFromClaims(principal.userId, principal.name);
      entry = { bannedAt: state.bannedAt, until: now + CACHE_TTL_MS };
      if (this.known.size >= CACHE_MAX_ENTRIES) this.known.delete(this.known.keys().next().value!);
      this.known.set(principal.userId, entry);
    }
    if (entry.bannedAt) throw bannedAccount();
  }

  forget(userId: string): void {
    this.known.delete(userId);
  }
}
