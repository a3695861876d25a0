// The "<count>/<window>" notation of the RATE_LIMIT_* variables (README, "Rate limits"): parsed
// with the rest of the configuration; the limiters in cluster/ take the parsed RateLimit.

export interface RateLimit {
  /** Requests allowed at once: the bucket's size. */
  points: number;
  /** Time in which an empty bucket fills up again (`points` per `windowMs` sustained). */
  windowMs: number;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses "<points>/<window>" ("20/10s", "300/1m", "10/1h", "5/500ms"; a bare unit means 1 of it:
 * "300/m"), or "off" / "0" for no limit (null).
 */
export function parseRateLimit(spec: string): RateLimit | null {
  const s = spec.trim().toLowerCase();
  if (s === "off" || s === "0") return null;
  const match = /^(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)$/.exec(s);
  if (!match) throw new Error(`must be "<count>/<window>" like 20/10s, 300/1m or 10/1h, or "off"`);
  const points = Number(match[1]);
  const windowMs = Number(match[2] || "1") * UNITS[match[3]!]!;
  if (points < 1 || points > 1_000_000) throw new Error("count must be between 1 and 1000000");
  if (windowMs < 1 || windowMs > 7 * 24 * 3_600_000) throw new Error("window must be between 1 ms and 7 days");
  return { points, windowMs };
}
