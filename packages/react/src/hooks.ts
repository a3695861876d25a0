// Hooks over @marketchat/client's views: each returns state and status (never a socket), stays
// current with the live events, and shares one view per conversation however many components
// use it (like @tanstack/react-query's queries or stream-chat-react's channel state).
import { useCallback, useEffect, useMemo, useSyncExternalStore } from "react";
import type {
  ChatClient,
  ConnectionState,
  ConversationListState,
  MessageView,
  OutgoingMessage,
  PresenceView,
  ReadableStore,
  SendInput,
  Thread,
  ThreadState,
  UnreadState,
  UploadFile,
} from "@marketchat/client";
import { emptyThreadState } from "@marketchat/client";
import { useChatClient } from "./context.js";

/** A view's snapshot, kept alive (retained) while the component is mounted. */
function useView<S>(view: (ReadableStore<S> & { retain?: () => () => void }) | null, idle: S): S {
  useEffect(() => view?.retain?.(), [view]);
  const subscribe = useCallback((listener: () => void) => (view ? view.subscribe(listener) : () => undefined), [view]);
  const snapshot = useCallback(() => (view ? view.getSnapshot() : idle), [view, idle]);
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/** The socket's state: connecting, connected, reconnecting, unauthorized, closed. */
export function useConnection(): ConnectionState {
  const client = useChatClient();
  return useView(client.connection, client.connection.getSnapshot());
}

export interface UseConversationsResult extends ConversationListState {
  loadMore(): Promise<void>;
  reload(): Promise<void>;
  /** Opens (get-or-create) the user's conversation about a listing, as its buyer. */
  open(listingId: string): ReturnType<ChatClient["api"]["openConversation"]>;
}

/** The user's conversations, latest activity first, with last message and unread count, live. */
export function useConversations(): UseConversationsResult {
  const client = useChatClient();
  const list = useMemo(() => client.conversations(), [client]);
  const state = useView(list, list.getSnapshot());
  return useMemo(
    () => ({ ...state, loadMore: () => list.loadMore(), reload: () => list.reload(), open: (listingId: string) => list.open(listingId) }),
    [state, list],
  );
}

const IDLE_THREAD: ThreadState = emptyThreadState("");

function useThread(conversationId: string | null | undefined): [Thread | null, ThreadState] {
  const client = useChatClient();
  const thread = useMemo(() => (conversationId ? client.thread(conversationId) : null), [client, conversationId]);
  return [thread, useView(thread, IDLE_THREAD)];
}

export interface UseMessagesResult extends ThreadState {
  loadOlder(): Promise<void>;
  /** Marks read up to `seq` (default: the latest loaded); no request when nothing is new. */
  markRead(seq?: number): Promise<void>;
  /** Whether another participant has read this message. */
  seen(message: Pick<MessageView, "seq">): boolean;
  edit(messageId: string, content: string): Promise<MessageView>;
  unsend(messageId: string): Promise<void>;
  react(messageId: string, emoji: string, on?: boolean): Promise<void>;
}

/**
 * A conversation's messages (ascending seq, once each; older pages with loadOlder()), the user's
 * unsent ones (`outgoing`), who is typing and read pointers. `null` gives an idle result.
 */
export function useMessages(conversationId: string | null | undefined): UseMessagesResult {
  const [thread, state] = useThread(conversationId);
  return useMemo(() => {
    const missing = () => Promise.reject(new Error("useMessages: no conversation"));
    return {
      ...state,
      loadOlder: () => thread?.loadOlder() ?? Promise.resolve(),
      markRead: (seq?: number) => thread?.markRead(seq) ?? Promise.resolve(),
      // A new function with every state, so memoized children ask again when read pointers move.
      seen: (message: Pick<MessageView, "seq">) => thread?.seen(message) ?? false,
      edit: (messageId: string, content: string) => thread?.edit(messageId, content) ?? missing(),
      unsend: (messageId: string) => thread?.unsend(messageId) ?? missing(),
      react: (messageId: string, emoji: string, on?: boolean) => thread?.react(messageId, emoji, on) ?? missing(),
    };
  }, [thread, state]);
}

export interface UseSendResult {
  /** Sends text (or a full input: replyToId, attachmentIds, clientId); resolves with the stored message. */
  send(input: string | SendInput): Promise<MessageView>;
  /** Uploads the files (progress in `outgoing`) and sends them as one message. */
  sendFiles(files: UploadFile[], input?: Omit<SendInput, "attachmentIds">): Promise<MessageView>;
  retry(clientId: string): Promise<MessageView>;
  discard(clientId: string): void;
  /** This conversation's messages on their way: queued, uploading (with progress), sending, failed. */
  outgoing: OutgoingMessage[];
}

export function useSend(conversationId: string | null | undefined): UseSendResult {
  const client = useChatClient();
  const outbox = useView(client.outbox, client.outbox.getSnapshot());
  const outgoing = useMemo(() => outbox.filter((m) => m.conversationId === conversationId), [outbox, conversationId]);
  return useMemo(() => {
    const missing = () => Promise.reject(new Error("useSend: no conversation"));
    return {
      send: (input: string | SendInput) =>
        conversationId ? client.send(conversationId, typeof input === "string" ? { content: input } : input) : missing(),
      sendFiles: (files: UploadFile[], input?: Omit<SendInput, "attachmentIds">) =>
        conversationId ? client.sendFiles(conversationId, files, input) : missing(),
      retry: (clientId: string) => client.retry(clientId),
      discard: (clientId: string) => client.discard(clientId),
      outgoing,
    };
  }, [client, conversationId, outgoing]);
}

export interface UseTypingResult {
  /** Other participants typing in this conversation now. */
  typingUserIds: string[];
  /** Call on every keystroke: throttled `typing:start`, `typing:stop` after a pause. */
  notifyTyping(): void;
  stopTyping(): void;
}

export function useTyping(conversationId: string | null | undefined): UseTypingResult {
  const client = useChatClient();
  const [, state] = useThread(conversationId);
  const typingUserIds = state.typing;
  return useMemo(
    () => ({
      typingUserIds,
      notifyTyping: () => {
        if (conversationId) client.typing(conversationId);
      },
      stopTyping: () => {
        if (conversationId) client.stopTyping(conversationId);
      },
    }),
    [client, conversationId, typingUserIds],
  );
}

/** Online status and last seen of these users (only those who share a conversation with the user are known). */
export function usePresence(userIds: readonly string[]): Record<string, PresenceView | undefined> {
  const client = useChatClient();
  const tracker = useMemo(() => client.presence(), [client]);
  const key = [...new Set(userIds)].sort().join("\n");
  useEffect(() => (key ? tracker.watch(key.split("\n")) : undefined), [tracker, key]);
  const all = useView<Readonly<Record<string, PresenceView>>>(tracker, tracker.getSnapshot());
  return useMemo(() => (key ? Object.fromEntries(key.split("\n").map((id) => [id, all[id]])) : {}), [all, key]);
}

/** Unread counts: total and per conversation, live. */
export function useUnread(): UnreadState {
  const client = useChatClient();
  const counter = useMemo(() => client.unread(), [client]);
  return useView(counter, counter.getSnapshot());
}
