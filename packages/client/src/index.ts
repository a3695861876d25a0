export { ChatClient, ChatError, type ChatClientOptions, type SendInput } from "./chat-client.js";
export type * from "./contract.js";
