// Where the client gets its JWT. A function is called again when the cached token is about to
// expire, when the service answers 401 and when a socket connection is refused as unauthorized:
// that is token refresh (the marketplace's app returns a fresh token from it).

export type TokenInput = string | (() => string | Promise<string>);

/** Refresh this long before `exp`, so no request leaves with a token that expires on the way. */
const EXPIRY_MARGIN_MS = 30_000;

interface Claims {
  sub?: string;
  exp?: number;
}

/** The token's claims, read without verifying it (the service verifies; the client only needs sub and exp). */
export function readClaims(token: string): Claims {
  const part = token.split(".")[1];
  if (!part) return {};
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    return typeof claims === "object" && claims !== null ? (claims as Claims) : {};
  } catch {
    return {};
  }
}

export class TokenSource {
  private current: string | null;
  private fetching: Promise<string> | null = null;
  private readonly listeners = new Set<(token: string) => void>();

  constructor(private input: TokenInput) {
    this.current = typeof input === "string" ? input : null;
  }

  /** Whether refresh() can get a different token. */
  get refreshable(): boolean {
    return typeof this.input === "function";
  }

  /** The user id (`sub`) of the last token obtained, or null before the first. */
  get userId(): string | null {
    return this.current ? (readClaims(this.current).sub ?? null) : null;
  }

  /** A token that is not about to expire (cached until then). */
  async get(): Promise<string> {
    if (this.current && !this.expiresSoon(this.current)) return this.current;
    return this.refresh();
  }

  /** A new token from the function (a plain string token is returned as it is). */
  refresh(): Promise<string> {
    const input = this.input;
    if (typeof input === "string") return Promise.resolve(input);
    // Concurrent callers (a 401 on several requests at once) share one call.
    this.fetching ??= Promise.resolve()
      .then(input)
      .then((token) => {
        this.accept(token);
        return token;
      })
      .finally(() => {
        this.fetching = null;
      });
    return this.fetching;
  }

  /** Replaces the token (or the function) from now on. */
  set(input: TokenInput): void {
    this.input = input;
    if (typeof input === "string") this.accept(input);
    else this.current = null;
  }

  /** Called with every new token (the client learns its user id from it). */
  onChange(listener: (token: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private accept(token: string): void {
    const changed = token !== this.current;
    this.current = token;
    if (changed) for (const listener of this.listeners) listener(token);
  }

  private expiresSoon(token: string): boolean {
    if (!this.refreshable) return false;
    const exp = readClaims(token).exp;
    return typeof exp === "number" && exp * 1000 - EXPIRY_MARGIN_MS <= Date.now();
  }
}
