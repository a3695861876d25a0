// @marketchat/client: the marketchat service from browsers and Node.
export { ChatClient, type ChatClientOptions, type ConnectionState, type ConnectionStatus, type SendInput } from "./chat-client.js";
export { ChatError, isRetryable, type ChatErrorCode, type ChatErrorDetails } from "./errors.js";
export { HttpApi, type ConversationQuery, type CounterOfferInput, type MessageQuery, type OfferInput, type ReportInput, type SearchQuery, type SendBody } from "./http-api.js";
export { ConversationList, type ConversationListState } from "./conversation-list.js";
export { Thread, emptyThreadState, type ThreadState } from "./thread.js";
export { UnreadCounter, type UnreadState } from "./unread.js";
export { PresenceTracker } from "./presence.js";
export { Outbox, type OutboxStorage, type OutgoingFile, type OutgoingMessage, type OutgoingStatus } from "./outbox.js";
export { StateStore, type LoadStatus, type ReadableStore } from "./store.js";
export { LiveView } from "./view.js";
export { readClaims, type TokenInput } from "./token.js";
export { MAX_FILES_PER_UPLOAD, type UploadFile, type UploadOptions, type UploadProgress } from "./upload.js";
export type * from "./contract.js";
