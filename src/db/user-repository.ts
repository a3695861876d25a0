import type pg from "pg";
import type { UserView } from "../contract/shapes.js";

export interface UserState {
  bannedAt: Date | null;
}

export class UserRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Makes sure a user seen in a token exists. A name from the token only fills a missing name:
   * the marketplace's PUT /api/internal/users is the authority on names.
   */
  async ensureFromClaims(id: string, name: string | null): Promise<UserState> {
    const { rows } = await this.pool.query<{ banned_at: Date | null }>(
      `INSERT INTO users (id, name) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET name = COALESCE(users.name, EXCLUDED.name)
       RETURNING banned_at`,
      [id, name],
    );
    return { bannedAt: rows[0]!.banned_at };
  }

  async upsert(id: string, name: string, avatarUrl: string | null): Promise<{ user: UserView; created: boolean }> {
    const { rows } = await this.pool.query<{
      id: string;
      name: string;
      avatar_url: string | null;
      response_time_seconds: number | null;
      created: boolean;
    }>(
      `INSERT INTO users (id, name, avatar_url) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, avatar_url = EXCLUDED.avatar_url, updated_at = now()
       RETURNING id, name, avatar_url, response_time_seconds, (xmax = 0) AS created`,
      [id, name, avatarUrl],
    );
    const row = rows[0]!;
    return {
      user: { id: row.id, name: row.name, avatarUrl: row.avatar_url, responseTimeSeconds: row.response_time_seconds },
      created: row.created,
    };
  }

  async setBanned(id: string, bannedAt: Date | null): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE users SET banned_at = $2 WHERE id = $1`, [id, bannedAt]);
    return (rowCount ?? 0) > 0;
  }
}
