// Who the page is signed in as. Kept in sessionStorage: per tab, so one browser can hold the
// buyer in one tab and the seller in another.
import { readClaims } from "@marketchat/client";

export interface DemoListing {
  id: string;
  title: string;
  priceCents: number;
  currency: string;
}

export interface Session {
  token: string;
  user: { id: string; name: string; role?: "buyer" | "seller" };
  listings: DemoListing[];
}

const SESSION_KEY = "marketchat-demo-session";
const AFFINITY_KEY = "marketchat-demo-affinity";

export function loadSession(): Session | null {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null") as Session | null;
    const exp = session ? readClaims(session.token).exp : undefined;
    return session && (exp === undefined || exp * 1000 > Date.now()) ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** GET /demo/session?as=…: a token for the demo buyer or seller (not offered in production). */
export async function demoSignIn(as: "buyer" | "seller"): Promise<Session> {
  const res = await fetch(`${import.meta.env.BASE_URL}session?as=${as}`);
  const body = (await res.json().catch(() => null)) as (Session & { error?: { message: string } }) | null;
  if (!res.ok || !body) throw new Error(body?.error?.message ?? `Sign-in failed (${res.status})`);
  return body;
}

/** A session from a token the marketplace issued (the page's only sign-in in production). */
export function tokenSession(token: string): Session {
  const sub = readClaims(token).sub;
  if (!sub) throw new Error("That does not look like a JWT with a `sub` claim");
  return { token, user: { id: sub, name: sub }, listings: [] };
}

/**
 * The socket's `affinity` key: nginx (deploy/nginx-proxy.conf) routes a client's Socket.IO
 * requests by it, so tabs behind one address still spread over the nodes. Per tab.
 */
export function affinity(): string {
  let key = sessionStorage.getItem(AFFINITY_KEY);
  if (!key) {
    key = crypto.randomUUID();
    sessionStorage.setItem(AFFINITY_KEY, key);
  }
  return key;
}
