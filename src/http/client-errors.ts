// Requests that Node's HTTP parser refuses before Fastify sees them (headers over the size limit,
// chunked together with Content-Length, garbage on the wire, a request that did not arrive within
// REQUEST_TIMEOUT_MS) are answered in the contract's error shape too, then the connection closes:
// after a framing error nothing more can be read from it safely.
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { ErrorCode } from "../errors/errors.js";

interface ClientError extends Error {
  code?: string;
}

const ANSWERS: Record<string, { status: number; code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: "payload_too_large", message: "The request headers are too large" },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: "validation_failed", message: "The request did not arrive in time" },
};
// Node names a Content-Length sent with Transfer-Encoding either way, depending on its version.
for (const code of ["HPE_INVALID_CONTENT_LENGTH", "HPE_UNEXPECTED_CONTENT_LENGTH"]) {
  ANSWERS[code] = { status: 400, code: "validation_failed", message: "Content-Length is invalid or sent together with Transfer-Encoding" };
}
const MALFORMED = { status: 400, code: "validation_failed" as ErrorCode, message: "The HTTP request is malformed" };

export function clientErrorHandler(this: { log: { debug: (obj: object, msg: string) => void } }, err: ClientError, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const answer = (err.code && ANSWERS[err.code]) || MALFORMED;
  this.log.debug({ code: err.code }, "refused a malformed HTTP request");
  if (socket.writable) {
    const body = JSON.stringify({ error: { code: answer.code, message: answer.message } });
    socket.write(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n` +
        "Content-Type: application/json; charset=utf-8\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" +
        body,
    );
  }
  socket.destroySoon();
}
