// The demo page: sign in as the demo buyer or seller (or with a token), then chat. Everything it
// shows comes from @marketchat/react's hooks; actions go through @marketchat/client.
import { useEffect, useMemo, useState } from "react";
import { ChatClient } from "@marketchat/client";
import { ChatProvider, useChatClient, useConnection, useConversations, usePresence, useUnread } from "@marketchat/react";
import type { ConversationView } from "@marketchat/client";
import { ThreadView } from "./ThreadView.js";
import { ago, clock, initials, price, snippet } from "./format.js";
import { affinity, demoSignIn, loadSession, saveSession, tokenSession, type Session } from "./session.js";

export function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const client = useMemo(
    () =>
      session
        ? new ChatClient({
            url: window.location.origin,
            token: session.token,
            storage: window.localStorage,
            socket: { query: { affinity: affinity() } },
          })
        : null,
    [session],
  );
  useEffect(() => () => client?.close(), [client]);

  const signIn = (next: Session | null) => {
    saveSession(next);
    setSession(next);
  };
  if (!session || !client) return <SignIn onSignIn={signIn} />;
  return (
    <ChatProvider client={client}>
      <ChatScreen session={session} onSignOut={() => signIn(null)} />
    </ChatProvider>
  );
}

function SignIn({ onSignIn }: { onSignIn: (s: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [token, setToken] = useState("");
  const demo = async (as: "buyer" | "seller") => {
    setBusy(true);
    setError(null);
    try {
      onSignIn(await demoSignIn(as));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <div className="signin-card">
        <h1>
          market<span>chat</span> demo
        </h1>
        <p className="muted">A buyer and a seller talking about a listing. Open a second tab (or window) as the other side.</p>
        <div className="signin-buttons">
          <button className="primary" disabled={busy} onClick={() => void demo("buyer")}>
            Sign in as the demo buyer
          </button>
          <button className="primary secondary-color" disabled={busy} onClick={() => void demo("seller")}>
            Sign in as the demo seller
          </button>
        </div>
        <details>
          <summary>Use a token from your marketplace</summary>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              try {
                onSignIn(tokenSession(token.trim()));
              } catch (err) {
                setError((err as Error).message);
              }
            }}
          >
            <textarea value={token} onChange={(e) => setToken(e.target.value)} placeholder="eyJhbGciOi…" rows={3} />
            <button type="submit" disabled={!token.trim()}>
              Sign in with this token
            </button>
          </form>
        </details>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </main>
  );
}

function ChatScreen({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const client = useChatClient();
  const connection = useConnection();
  const unread = useUnread();
  const list = useConversations();
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const me = session.user.id;
  const current = list.items.find((c) => c.id === selected) ?? null;

  const openAbout = async (listingId: string) => {
    try {
      setSelected((await list.open(listingId)).id);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const startable = session.listings.filter((l) => session.user.role === "buyer" && !list.items.some((c) => c.listing?.id === l.id));

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          market<span>chat</span>
        </div>
        <div className={`conn conn-${connection.status}`} data-testid="connection">
          {connection.status === "connected" ? "connected" : connection.status === "unauthorized" ? "signed out" : `${connection.status}…`}
        </div>
        <div className="spacer" />
        <div className="me">
          <span className="avatar small">{initials(session.user.name)}</span>
          <span>
            {session.user.name}
            {session.user.role && <span className="muted"> · {session.user.role}</span>}
          </span>
          {unread.total > 0 && (
            <span className="badge" data-testid="unread-total" title="Unread messages">
              {unread.total}
            </span>
          )}
        </div>
        <button className="ghost" onClick={onSignOut}>
          Switch user
        </button>
      </header>
      {connection.status === "unauthorized" && <div className="banner error">The service refused this token ({connection.error?.code}). Switch user to sign in again.</div>}
      {error && (
        <div className="banner error" role="alert" onClick={() => setError(null)}>
          {error}
        </div>
      )}
      <div className="body">
        <aside className="sidebar">
          <div className="sidebar-title">
            Conversations
            {list.status === "loading" && <span className="muted"> · loading…</span>}
          </div>
          {startable.length > 0 && (
            <div className="start">
              {startable.map((l) => (
                <button key={l.id} className="start-item" onClick={() => void openAbout(l.id)}>
                  <span className="plus">+</span>
                  <span>
                    Ask about <strong>{l.title.replace(/^Demo listing: /, "")}</strong>
                    <span className="muted"> · {price(l.priceCents, l.currency)}</span>
                  </span>
                </button>
              ))}
            </div>
          )}
          {list.status === "ready" && list.items.length === 0 && startable.length === 0 && (
            <p className="muted pad">No conversations yet. When a buyer writes about one of your listings, it shows here.</p>
          )}
          <ul className="conversations">
            {list.items.map((c) => (
              <ConversationItem key={c.id} conversation={c} me={me} active={c.id === selected} onClick={() => setSelected(c.id)} />
            ))}
          </ul>
          {list.hasMore && (
            <button className="ghost pad" onClick={() => void list.loadMore()}>
              More
            </button>
          )}
        </aside>
        <section className="main">
          {current ? (
            <ThreadView key={current.id} conversation={current} me={me} onError={setError} />
          ) : (
            <div className="empty">
              <p>{session.user.role === "buyer" ? "Pick a listing on the left to ask the seller about it." : "Pick a conversation."}</p>
              <p className="muted small">
                Signed in as <code>{me}</code> on {client.api.baseUrl}
              </p>
            </div>
          )}
        </section>
      </div>
    </div>
  );
}

function ConversationItem({ conversation: c, me, active, onClick }: { conversation: ConversationView; me: string; active: boolean; onClick: () => void }) {
  const other = c.buyer.id === me ? c.seller : c.buyer;
  const presence = usePresence([other.id])[other.id];
  const last = c.lastMessage;
  const preview = last ? snippet(last) : "No messages yet";
  return (
    <li>
      <button className={`conversation${active ? " active" : ""}${c.unreadCount ? " unread" : ""}`} onClick={onClick} data-testid="conversation" data-conversation-id={c.id}>
        <span className="avatar">
          {initials(other.name ?? other.id)}
          {presence?.online && <span className="dot" title="online" />}
        </span>
        <span className="conversation-text">
          <span className="row">
            <span className="name">{other.name ?? other.id}</span>
            {last && <span className="time">{clock(last.createdAt)}</span>}
          </span>
          <span className="listing-title">{c.listing?.title ?? "Support"}</span>
          <span className="row">
            <span className="preview">
              {last && last.senderId === me ? "You: " : ""}
              {preview}
            </span>
            {c.unreadCount > 0 && (
              <span className="badge" data-testid="unread-badge">
                {c.unreadCount}
              </span>
            )}
          </span>
          {!presence?.online && presence?.lastSeenAt && <span className="muted tiny">last seen {ago(presence.lastSeenAt)}</span>}
        </span>
      </button>
    </li>
  );
}
