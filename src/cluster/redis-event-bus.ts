import type { Redis } from "ioredis";
import type { ChatEvent } from "../chat/events.js";
import type { EventBus, EventHandler } from "./event-bus.js";

/**
 * Several nodes: one PUBLISH per event on one channel. Redis delivers a channel's messages to each
 * subscriber in the order it received them, and each node emits to its own sockets only
 * (io.local), so every socket gets every event once and in publish order.
 */
export class RedisEventBus implements EventBus {
  private readonly handlers: EventHandler[] = [];

  constructor(
    private readonly pub: Redis,
    sub: Redis,
    private readonly channel: string,
    onError: (err: Error) => void,
  ) {
    // Not awaited: the node starts (and says it is not ready) while Redis is away, and ioredis
    // subscribes again on every reconnect. Nothing is published before the node listens.
    sub.subscribe(channel).catch(onError);
    sub.on("message", (ch: string, raw: string) => {
      if (ch !== channel) return;
      let event: ChatEvent;
      try {
        event = JSON.parse(raw) as ChatEvent;
      } catch (err) {
        onError(err as Error);
        return;
      }
      for (const handler of this.handlers) handler(event);
    });
  }

  async publish(event: ChatEvent): Promise<void> {
    await this.pub.publish(this.channel, JSON.stringify(event));
  }

  subscribe(handler: EventHandler): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
  }
}
