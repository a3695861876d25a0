import type { ChatEvent } from "../chat/events.js";
import type { EventBus, EventHandler } from "./event-bus.js";

/** Single node: events go straight to this node's handlers, in publish order. */
export class LocalEventBus implements EventBus {
  private readonly handlers: EventHandler[] = [];

  async publish(event: ChatEvent): Promise<void> {
    for (const handler of this.handlers) handler(event);
  }

  subscribe(handler: EventHandler): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
  }
}
