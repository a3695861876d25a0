import { createContext, createElement, useContext, type ReactNode } from "react";
import type { ChatClient } from "@marketchat/client";

const ChatContext = createContext<ChatClient | null>(null);

export interface ChatProviderProps {
  /** The app's one ChatClient (create it once, outside render, and close it when done). */
  client: ChatClient;
  children?: ReactNode;
}

/** Makes the client available to the hooks below it. */
export function ChatProvider({ client, children }: ChatProviderProps) {
  return createElement(ChatContext.Provider, { value: client }, children);
}

/** The ChatClient of the nearest ChatProvider. */
export function useChatClient(): ChatClient {
  const client = useContext(ChatContext);
  if (!client) throw new Error("useChatClient: no <ChatProvider client={…}> above this component");
  return client;
}
