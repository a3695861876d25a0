// Chat events (message:new and friends) leave the rules through an EventBus. Publishing resolves
// once the event is on its way to every node in order: the Redis backend awaits the PUBLISH
// reply, so a sender that holds the conversation's ordering lock while publishing gets seq 5
// delivered before seq 6 everywhere (README, "Ordering").
import type { ChatEvent } from "../chat/events.js";

export type EventHandler = (event: ChatEvent) => void;

export interface EventBus {
  publish(event: ChatEvent): Promise<void>;
  /** Every node, the publishing one included, gets every event exactly once. */
  subscribe(handler: EventHandler): void;
  close(): Promise<void>;
}
