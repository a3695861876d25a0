/**
 * Rate and connection limits for benchmark nodes. A load generator sends more per user than anyone
 * types and opens every socket from one address: the limits stay on (their checks are part of the
 * hot path being measured) but out of reach (README, "Rate limits", "Connection limits").
 */
export const UNREACHABLE_LIMITS: Record<string, string> = {
  RATE_LIMIT_MESSAGES: "1000000/1s",
  RATE_LIMIT_CONVERSATIONS: "1000000/1s",
  RATE_LIMIT_ANONYMOUS: "1000000/1s",
  SOCKET_HANDSHAKES_PER_IP: "1000000/1s",
  SOCKETS_PER_IP: "0",
  SOCKETS_PER_USER: "0",
  SOCKET_EVENTS_PER_SOCKET: "1000000/1s",
};
