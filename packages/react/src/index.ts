// @marketchat/react: a provider and hooks over @marketchat/client.
export { ChatProvider, useChatClient, type ChatProviderProps } from "./context.js";
export {
  useConnection,
  useConversations,
  useMessages,
  usePresence,
  useSend,
  useTyping,
  useUnread,
  type UseConversationsResult,
  type UseMessagesResult,
  type UseSendResult,
  type UseTypingResult,
} from "./hooks.js";
