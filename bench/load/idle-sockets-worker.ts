// Load generator for the connections scenario: opens idle Socket.IO connections in batches
// (each user with one socket per node, like a user with the app open on two devices) and keeps
// them open until told to close them.
import { io, type Socket } from "socket.io-client";
import { token } from "../../test/support/tokens.js";
import { serveWorker } from "../support/worker.js";

export interface OpenRequest {
  urls: string[];
  userPrefix: string;
  /** Socket numbers [from, from + count) of the whole scenario; socket i belongs to user i / nodes. */
  from: number;
  count: number;
  /** Handshakes in flight at once. */
  concurrency: number;
  /** Stop starting new handshakes after this long. */
  maxMs: number;
}

export interface OpenResult {
  opened: number;
  failed: number;
  firstError: string | null;
  ms: number;
}

const sockets: Socket[] = [];
let dropped = 0;

function connectOne(url: string, jwt: string): Promise<Socket> {
  const socket = io(url, { auth: { token: jwt }, transports: ["websocket"], reconnection: false, forceNew: true, timeout: 60_000 });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => {
      socket.on("disconnect", () => {
        dropped += 1;
      });
      resolve(socket);
    });
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
}

async function open(req: OpenRequest): Promise<OpenResult> {
  // Tokens are signed before the clock starts: their cost is the marketplace's, not the service's.
  const jobs = Array.from({ length: req.count }, (_, j) => {
    const i = req.from + j;
    return { url: req.urls[i % req.urls.length]!, jwt: token(`${req.userPrefix}-${Math.floor(i / req.urls.length)}`) };
  });
  let opened = 0;
  let failed = 0;
  let firstError: string | null = null;
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < jobs.length && performance.now() - started < req.maxMs) {
      const job = jobs[next++]!;
      try {
        sockets.push(await connectOne(job.url, job.jwt));
        opened += 1;
      } catch (err) {
        failed += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, jobs.length) }, lane));
  return { opened, failed, firstError, ms: Math.round(performance.now() - started) };
}

async function status(): Promise<{ open: number; dropped: number }> {
  return { open: sockets.filter((s) => s.connected).length, dropped };
}

async function close(): Promise<{ closed: number }> {
  const n = sockets.length;
  for (const s of sockets.splice(0)) s.close();
  return { closed: n };
}

serveWorker({ open, status, close });
