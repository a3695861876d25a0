// One conversation: header (listing, the other participant's presence, offer/block/report),
// messages with replies, images, reactions, offers and "seen", the user's outgoing messages with
// upload progress, who is typing, and the composer (reply, edit, attach).
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useChatClient, useMessages, usePresence, useSend, useTyping } from "@marketchat/react";
import type { ChatError, ConversationView, MessageView, OfferView, OutgoingMessage } from "@marketchat/client";
import { ago, clock, initials, price, snippet } from "./format.js";

const QUICK_REACTIONS = ["👍", "❤️", "😂"];
const REPORT_REASONS = ["spam", "scam", "harassment", "inappropriate", "other"];

const offerOf = (m: MessageView) => (m.type === "offer" ? m.offer : undefined);

export function ThreadView({ conversation, me, onError }: { conversation: ConversationView; me: string; onError: (message: string) => void }) {
  const client = useChatClient();
  const thread = useMessages(conversation.id);
  const { send, sendFiles, retry, discard } = useSend(conversation.id);
  const typing = useTyping(conversation.id);
  const other = conversation.buyer.id === me ? conversation.seller : conversation.buyer;
  const presence = usePresence([other.id])[other.id];
  const [replyTo, setReplyTo] = useState<MessageView | null>(null);
  const [editing, setEditing] = useState<MessageView | null>(null);
  const [text, setText] = useState("");
  const [modal, setModal] = useState<"offer" | "report" | null>(null);
  const [blocked, setBlocked] = useState(false);
  const listRef = useRef<HTMLDivElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const fail = (err: unknown) => onError(err instanceof Error ? err.message : String(err));

  const byId = useMemo(() => new Map(thread.messages.map((m) => [m.id, m])), [thread.messages]);
  // "Seen" goes under the user's latest message the other side has read.
  const lastSeenId = useMemo(() => {
    const mine = thread.messages.filter((m) => m.senderId === me && !m.deletedAt);
    for (let i = mine.length - 1; i >= 0; i--) if (thread.seen(mine[i]!)) return mine[i]!.id;
    return null;
  }, [thread, me]);

  useEffect(() => {
    void client.api.blocks().then((page) => setBlocked(page.items.some((b) => b.user.id === other.id)), () => undefined);
  }, [client, other.id]);

  // Read what is on screen while the page is visible.
  const lastSeq = thread.messages.at(-1)?.seq ?? 0;
  useEffect(() => {
    const read = () => {
      if (document.visibilityState === "visible" && lastSeq > 0) void thread.markRead().catch(() => undefined);
    };
    read();
    document.addEventListener("visibilitychange", read);
    return () => document.removeEventListener("visibilitychange", read);
  }, [lastSeq, thread.markRead]); // eslint-disable-line react-hooks/exhaustive-deps

  // Keep the newest message in view.
  useLayoutEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [thread.messages.length, thread.outgoing.length, typing.typingUserIds.length]);

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const content = text.trim();
    if (!content) return;
    setText("");
    try {
      if (editing) {
        setEditing(null);
        await thread.edit(editing.id, content);
      } else {
        const reply = replyTo;
        setReplyTo(null);
        await send(reply ? { content, replyToId: reply.id } : content);
      }
    } catch (err) {
      fail(err);
    }
  };

  const attach = async (files: FileList | null) => {
    if (!files?.length) return;
    const picked = [...files];
    if (fileRef.current) fileRef.current.value = "";
    const content = text.trim();
    setText("");
    const reply = replyTo;
    setReplyTo(null);
    try {
      await sendFiles(picked, { ...(content ? { content } : {}), ...(reply ? { replyToId: reply.id } : {}) });
    } catch (err) {
      fail(err);
    }
  };

  const toggleBlock = async () => {
    try {
      if (blocked) await client.api.unblock(other.id);
      else await client.api.block(other.id);
      setBlocked(!blocked);
    } catch (err) {
      fail(err);
    }
  };

  const typingNames = typing.typingUserIds.map((id) => (id === conversation.buyer.id ? conversation.buyer.name : id === conversation.seller.id ? conversation.seller.name : id) ?? id);

  return (
    <div className="thread">
      <div className="thread-header">
        <span className="avatar">
          {initials(other.name ?? other.id)}
          {presence?.online && <span className="dot" />}
        </span>
        <div className="thread-title">
          <div className="name">{other.name ?? other.id}</div>
          <div className="muted small" data-testid="presence">
            {presence?.online ? "online" : presence?.lastSeenAt ? `last seen ${ago(presence.lastSeenAt)}` : "offline"}
          </div>
        </div>
        <div className="listing-chip">
          <div className="listing-name">{conversation.listing?.title ?? "Support"}</div>
          {conversation.listing && (
            <div className="muted small">
              {price(conversation.listing.priceCents, conversation.listing.currency)} · {conversation.listing.status}
            </div>
          )}
        </div>
        <div className="actions">
          {conversation.listing && (
            <button onClick={() => setModal("offer")} disabled={blocked}>
              Make offer
            </button>
          )}
          <button className="ghost" onClick={() => void toggleBlock()}>
            {blocked ? "Unblock" : "Block"}
          </button>
          <button className="ghost" onClick={() => setModal("report")}>
            Report
          </button>
        </div>
      </div>
      {blocked && <div className="banner">You blocked {other.name ?? other.id}: neither of you can send here until you unblock.</div>}

      <div className="messages" ref={listRef} data-testid="messages">
        {thread.hasOlder && (
          <button className="ghost load-older" onClick={() => void thread.loadOlder()} disabled={thread.loadingOlder}>
            {thread.loadingOlder ? "Loading…" : "Older messages"}
          </button>
        )}
        {thread.status === "loading" && thread.messages.length === 0 && <p className="muted center">Loading…</p>}
        {thread.status === "ready" && thread.messages.length === 0 && thread.outgoing.length === 0 && (
          <p className="muted center">Say hello{conversation.listing ? ` about “${conversation.listing.title}”` : ""}.</p>
        )}
        {thread.messages.map((m) => (
          <Message
            key={m.id}
            message={m}
            mine={m.senderId === me}
            me={me}
            replied={m.replyToId ? (byId.get(m.replyToId) ?? null) : null}
            seen={m.id === lastSeenId}
            onReply={() => {
              setEditing(null);
              setReplyTo(m);
            }}
            onEdit={() => {
              setReplyTo(null);
              setEditing(m);
              setText(m.content ?? "");
            }}
            onUnsend={() => void thread.unsend(m.id).catch(fail)}
            onReact={(emoji, on) => void thread.react(m.id, emoji, on).catch(fail)}
            onOffer={(action) => void offerAction(client, action, offerOf(m)!).catch(fail)}
          />
        ))}
        {thread.outgoing.map((o) => (
          <Outgoing key={o.clientId} message={o} onRetry={() => void retry(o.clientId).catch(() => undefined)} onDiscard={() => discard(o.clientId)} />
        ))}
        {typingNames.length > 0 && (
          <div className="typing" data-testid="typing">
            <span className="dots">
              <i />
              <i />
              <i />
            </span>
            {typingNames.join(", ")} {typingNames.length > 1 ? "are" : "is"} typing…
          </div>
        )}
      </div>

      {(replyTo || editing) && (
        <div className="composer-context">
          <span>
            {editing ? "Editing your message" : `Replying to ${replyTo!.senderId === me ? "yourself" : (other.name ?? other.id)}: `}
            {replyTo && <em>{snippet(replyTo)}</em>}
          </span>
          <button
            className="ghost"
            aria-label="Cancel"
            onClick={() => {
              setReplyTo(null);
              if (editing) setText("");
              setEditing(null);
            }}
          >
            ✕
          </button>
        </div>
      )}
      <form className="composer" onSubmit={(e) => void submit(e)}>
        <input ref={fileRef} type="file" accept="image/*" multiple hidden onChange={(e) => void attach(e.target.files)} data-testid="file-input" />
        <button type="button" className="ghost icon attach" title="Attach photos" aria-label="Attach photos" onClick={() => fileRef.current?.click()} disabled={!!editing}>
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path
              d="M16.5 6.5 8.6 14.4a2 2 0 0 0 2.8 2.8l8-8a4 4 0 0 0-5.6-5.7l-8.1 8.1a6 6 0 0 0 8.5 8.5l6.3-6.3"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.8"
              strokeLinecap="round"
            />
          </svg>
        </button>
        <textarea
          value={text}
          rows={1}
          placeholder={blocked ? "Blocked" : "Write a message…"}
          disabled={blocked}
          onChange={(e) => {
            setText(e.target.value);
            if (e.target.value) typing.notifyTyping();
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              void submit();
            }
            if (e.key === "Escape") {
              setEditing(null);
              setReplyTo(null);
            }
          }}
          aria-label="Message"
        />
        <button type="submit" className="primary" disabled={!text.trim() || blocked}>
          {editing ? "Save" : "Send"}
        </button>
      </form>

      {modal === "offer" && conversation.listing && (
        <OfferModal
          listingPrice={conversation.listing.priceCents}
          currency={conversation.listing.currency ?? "EUR"}
          onClose={() => setModal(null)}
          onSubmit={(amountCents) => client.makeOffer(conversation.id, { amountCents, currency: conversation.listing!.currency ?? "EUR" })}
        />
      )}
      {modal === "report" && (
        <ReportModal
          who={other.name ?? other.id}
          onClose={() => setModal(null)}
          onSubmit={(reason, note) => client.api.report({ conversationId: conversation.id, userId: other.id, reason, ...(note ? { note } : {}) })}
        />
      )}
    </div>
  );
}

async function offerAction(client: ReturnType<typeof useChatClient>, action: "accept" | "decline" | "withdraw" | "counter", offer: OfferView) {
  if (action === "accept") await client.acceptOffer(offer.id);
  else if (action === "decline") await client.declineOffer(offer.id);
  else if (action === "withdraw") await client.withdrawOffer(offer.id);
  else {
    const answer = window.prompt("Counter-offer amount", (offer.amountCents / 100).toFixed(2));
    const cents = answer ? Math.round(Number(answer.replace(",", ".")) * 100) : NaN;
    if (Number.isFinite(cents) && cents > 0) await client.counterOffer(offer.id, { amountCents: cents });
  }
}

interface MessageProps {
  message: MessageView;
  mine: boolean;
  me: string;
  replied: MessageView | null;
  seen: boolean;
  onReply(): void;
  onEdit(): void;
  onUnsend(): void;
  onReact(emoji: string, on: boolean): void;
  onOffer(action: "accept" | "decline" | "withdraw" | "counter"): void;
}

function Message({ message: m, mine, me, replied, seen, onReply, onEdit, onUnsend, onReact, onOffer }: MessageProps) {
  const client = useChatClient();
  if (m.type === "system") {
    return (
      <div className="system" data-testid="message" data-seq={m.seq}>
        {m.content}
      </div>
    );
  }
  const offer = offerOf(m);
  const deleted = m.deletedAt !== null;
  const reactions = m.reactions;
  return (
    <div className={`message ${mine ? "mine" : "theirs"}`} data-testid="message" data-seq={m.seq} data-message-id={m.id}>
      <div className="bubble-wrap">
        <div className={`bubble${deleted ? " deleted" : ""}${offer ? " offer" : ""}${!deleted && !offer && !m.content && m.attachments.length ? " media" : ""}`}>
          {replied && !deleted && <div className="quote">{snippet(replied)}</div>}
          {deleted ? (
            <em>Message unsent</em>
          ) : offer ? (
            <OfferCard offer={offer} me={me} onOffer={onOffer} />
          ) : (
            <>
              {m.attachments.length > 0 && (
                <div className="images">
                  {m.attachments.map((a) =>
                    a.kind === "image" ? (
                      <a key={a.id} href={client.api.url(a.url)} target="_blank" rel="noreferrer">
                        <img
                          src={client.api.url(a.thumbnailUrl ?? a.url)}
                          alt={a.name}
                          width={a.width && a.height ? Math.min(240, a.width) : undefined}
                          style={a.width && a.height ? { aspectRatio: `${a.width} / ${a.height}` } : undefined}
                          data-testid="thumbnail"
                        />
                      </a>
                    ) : (
                      <a key={a.id} className="file" href={client.api.url(a.url)} target="_blank" rel="noreferrer">
                        {a.name}
                      </a>
                    ),
                  )}
                </div>
              )}
              {m.content && <div className="text">{m.content}</div>}
            </>
          )}
          <div className="meta">
            {m.editedAt && !deleted && <span>edited · </span>}
            {clock(m.createdAt)}
          </div>
        </div>
        {!deleted && (
          <div className="hover-actions">
            {QUICK_REACTIONS.map((emoji) => {
              const mineToo = reactions.some((r) => r.emoji === emoji && r.userIds.includes(me));
              return (
                <button key={emoji} className="ghost icon" title={`React ${emoji}`} onClick={() => onReact(emoji, !mineToo)}>
                  {emoji}
                </button>
              );
            })}
            <button className="ghost" onClick={onReply}>
              Reply
            </button>
            {mine && m.content !== null && !offer && (
              <button className="ghost" onClick={onEdit}>
                Edit
              </button>
            )}
            {mine && (
              <button className="ghost" onClick={onUnsend}>
                Unsend
              </button>
            )}
          </div>
        )}
      </div>
      {reactions.length > 0 && !deleted && (
        <div className="reactions">
          {reactions.map((r) => (
            <button key={r.emoji} className={`reaction${r.userIds.includes(me) ? " own" : ""}`} onClick={() => onReact(r.emoji, !r.userIds.includes(me))}>
              {r.emoji} {r.count}
            </button>
          ))}
        </div>
      )}
      {seen && (
        <div className="seen" data-testid="seen">
          Seen
        </div>
      )}
    </div>
  );
}

function OfferCard({ offer, me, onOffer }: { offer: OfferView; me: string; onOffer: MessageProps["onOffer"] }) {
  const mine = offer.byUserId === me;
  return (
    <div className="offer-card">
      <div className="offer-label">{mine ? "Your offer" : "Offer"}</div>
      <div className="offer-amount">{price(offer.amountCents, offer.currency)}</div>
      <div className={`offer-status status-${offer.status}`}>{offer.status}</div>
      {offer.status === "pending" && (
        <div className="offer-actions">
          {mine ? (
            <button onClick={() => onOffer("withdraw")}>Withdraw</button>
          ) : (
            <>
              <button className="primary" onClick={() => onOffer("accept")}>
                Accept
              </button>
              <button onClick={() => onOffer("counter")}>Counter</button>
              <button className="ghost" onClick={() => onOffer("decline")}>
                Decline
              </button>
            </>
          )}
        </div>
      )}
    </div>
  );
}

function Outgoing({ message: o, onRetry, onDiscard }: { message: OutgoingMessage; onRetry(): void; onDiscard(): void }) {
  const percent = o.progress && o.progress.total > 0 ? Math.round((o.progress.loaded / o.progress.total) * 100) : null;
  const label =
    o.status === "queued" ? (o.error ? `Retrying (${o.error.message})…` : "Waiting for the connection…") : o.status === "uploading" ? `Uploading${percent === null ? "…" : ` ${percent}%`}` : o.status === "sending" ? "Sending…" : failure(o.error);
  return (
    <div className="message mine pending" data-testid="outgoing" data-status={o.status}>
      <div className="bubble-wrap">
        <div className="bubble">
          {o.files.length > 0 && (
            <div className="images">
              {o.files.map((f, i) => (f.previewUrl ? <img key={i} src={f.previewUrl} alt={f.name} /> : <span key={i} className="file">{f.name}</span>))}
            </div>
          )}
          {o.status === "uploading" && (
            <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent ?? 0} data-testid="upload-progress">
              <div style={{ width: `${percent ?? 0}%` }} />
            </div>
          )}
          {o.content && <div className="text">{o.content}</div>}
          <div className="meta">{label}</div>
        </div>
      </div>
      {o.status === "failed" && (
        <div className="failed-actions">
          <button className="ghost" onClick={onRetry}>
            Retry
          </button>
          <button className="ghost" onClick={onDiscard}>
            Discard
          </button>
        </div>
      )}
    </div>
  );
}

function failure(error: ChatError | null): string {
  if (!error) return "Not sent";
  if (error.code === "blocked") return "Not sent: one of you blocked the other";
  return `Not sent: ${error.message}`;
}

function OfferModal({ listingPrice, currency, onClose, onSubmit }: { listingPrice: number | null; currency: string; onClose(): void; onSubmit(amountCents: number): Promise<unknown> }) {
  const [amount, setAmount] = useState(listingPrice ? ((listingPrice * 0.9) / 100).toFixed(2) : "");
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const cents = Math.round(Number(amount.replace(",", ".")) * 100);
    if (!Number.isFinite(cents) || cents <= 0) return setError("Enter an amount");
    try {
      await onSubmit(cents);
      onClose();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Modal title="Make an offer" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Amount ({currency}){listingPrice ? <span className="muted"> · asking {price(listingPrice, currency)}</span> : null}
          <input autoFocus inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
        </label>
        {error && <p className="error">{error}</p>}
        <div className="modal-actions">
          <button type="button" className="ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Send offer
          </button>
        </div>
      </form>
    </Modal>
  );
}

function ReportModal({ who, onClose, onSubmit }: { who: string; onClose(): void; onSubmit(reason: string, note: string): Promise<unknown> }) {
  const [reason, setReason] = useState(REPORT_REASONS[0]!);
  const [note, setNote] = useState("");
  const [state, setState] = useState<"idle" | "sent" | string>("idle");
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await onSubmit(reason, note.trim());
      setState("sent");
    } catch (err) {
      setState((err as Error).message);
    }
  };
  return (
    <Modal title={`Report ${who}`} onClose={onClose}>
      {state === "sent" ? (
        <>
          <p>Thanks: the marketplace's moderators will look at it.</p>
          <div className="modal-actions">
            <button className="primary" onClick={onClose}>
              Close
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={(e) => void submit(e)}>
          <label>
            Reason
            <select value={reason} onChange={(e) => setReason(e.target.value)}>
              {REPORT_REASONS.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <label>
            What happened (optional)
            <textarea value={note} onChange={(e) => setNote(e.target.value)} rows={3} maxLength={1000} />
          </label>
          {state !== "idle" && <p className="error">{state}</p>}
          <div className="modal-actions">
            <button type="button" className="ghost" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="primary">
              Send report
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}

function Modal({ title, onClose, children }: { title: string; onClose(): void; children: ReactNode }) {
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal" role="dialog" aria-label={title} onClick={(e) => e.stopPropagation()}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}
