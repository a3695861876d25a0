// Admin broadcasts (API.md, "Admin broadcast"): stored, then sent live to every socket on every
// node through the event bus; users who were away list them with GET /api/broadcasts?after.
import type { Principal } from "../auth/token-verifier.js";
import type { BroadcastRecord, BroadcastRepository } from "../db/broadcast-repository.js";
import { invalid } from "../errors/errors.js";
import type { BroadcastPayload, PublishEvent } from "./events.js";
import { broadcastInput, broadcastsQuery, parse, uuid } from "./schemas.js";
import type { Page } from "../contract/shapes.js";
import { withTimeout } from "../util/with-timeout.js";

export interface BroadcastServiceDeps {
  broadcasts: BroadcastRepository;
  publish: PublishEvent;
  onBackgroundError: (err: unknown, what: string) => void;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const PUBLISH_TIMEOUT_MS = 2_000;

export class BroadcastService {
  constructor(private readonly deps: BroadcastServiceDeps) {}

  /**
   * Stores and sends a broadcast. The database is the truth: when the live send fails the
   * broadcast still counts (201) and clients get it from the list.
   */
  async create(caller: Principal, body: unknown): Promise<BroadcastPayload> {
    const { content } = parse(broadcastInput, body);
    const broadcast = view(await this.deps.broadcasts.create(content, caller.userId));
    try {
      await withTimeout(this.deps.publish({ type: "broadcast.created", broadcast }), PUBLISH_TIMEOUT_MS, "publish timed out");
    } catch (err) {
      this.deps.onBackgroundError(err, "publish broadcast.created");
    }
    return broadcast;
  }

  /**
   * Broadcasts after `after` (a broadcast id, or an ISO 8601 time), oldest first; all of them when
   * omitted. `nextCursor` is the last item's id: pass it back as `after` (or `cursor`).
   */
  async list(query: unknown): Promise<Page<BroadcastPayload>> {
    const q = parse(broadcastsQuery, query);
    const after = await this.resolveAfter(q.after ?? q.cursor);
    const page = await this.deps.broadcasts.listAfter(after, q.limit);
    const items = page.items.map(view);
    return { items, nextCursor: page.more ? items.at(-1)!.id : null };
  }

  private async resolveAfter(after: string | undefined): Promise<Date | null> {
    if (after === undefined || after === "") return null;
    if (uuid.safeParse(after).success) {
      const at = await this.deps.broadcasts.createdAt(after);
      if (!at) throw invalid("after: no such broadcast");
      return at;
    }
    const at = ISO_TIME.test(after) ? new Date(after) : null;
    if (!at || Number.isNaN(at.getTime())) throw invalid("after: must be a broadcast id or an ISO 8601 time");
    return at;
  }
}

function view(b: BroadcastRecord): BroadcastPayload {
  return { id: b.id, content: b.content, createdAt: b.createdAt.toISOString() };
}
