// The wire-protocol server of embedded mode: many pg connections onto PGlite's one session, each
// connection's messages run as whole units (up to its Sync or simple Query), so that queries and
// transactions of different connections never interleave (see embedded-postgres.ts for why).
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";

// pg connects to <host>/.s.PGSQL.<port> for a socket directory; 5432 is its default port.
const SOCKET_NAME = ".s.PGSQL.5432";
// sun_path is 104 bytes on macOS and 108 on Linux, the terminating NUL included.
const MAX_SOCKET_PATH_BYTES = 100;

// ---------------------------------------------------------------------------------------------
// The wire-protocol server: many connections, one PGlite session, whole units at a time
// ---------------------------------------------------------------------------------------------

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
// Messages after which the client waits for the server: the end of a unit.
const UNIT_ENDS = new Set(["S", "Q", "H", "c", "f"]);
const TERMINATE = "X";

interface Unit {
  connection: Connection;
  bytes: Buffer;
  /** Internal clean-up unit: its output goes nowhere. */
  discard?: boolean;
}

export class SessionServer {
  private readonly server: Server = createServer((socket) => this.accept(socket));
  private readonly connections = new Set<Connection>();
  private readonly queue: Unit[] = [];
  /** The connection that left the session inside a transaction (or mid-protocol): only it may run. */
  private owner: Connection | null = null;
  private running = false;
  private failed: Error | null = null;
  private closing = false;
  private socketDir: string | null = null;
  private ownsSocketDir = false;

  constructor(
    private readonly db: PGlite,
    private readonly onFatal: (err: Error) => void,
  ) {}

  /** Listens on a Unix socket in `runDir` (0700; a loopback port on Windows); returns the URL. */
  async listen(runDir: string): Promise<string> {
    if (process.platform === "win32") {
      // No Unix sockets for pg on Windows: a loopback port. Like the socket directory, it is for
      // this process only; on a shared Windows machine other local users could reach it.
      await new Promise<void>((ok, fail) => this.server.once("error", fail).listen(0, "127.0.0.1", ok));
      const address = this.server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      return `postgresql://postgres@127.0.0.1:${port}/postgres`;
    }
    // The socket sits in DATA_DIR/run, mode 0700 (as PostgreSQL keeps its socket by its data):
    // no other local user can reach it, which matters because PGlite accepts any user without a
    // password, and one left by kill -9 is simply replaced (we hold DATA_DIR's lock). Socket paths
    // are limited to about 100 bytes, so a deep DATA_DIR gets a fresh 0700 directory under tmpdir.
    if (Buffer.byteLength(join(runDir, SOCKET_NAME)) <= MAX_SOCKET_PATH_BYTES) {
      await mkdir(runDir, { recursive: true, mode: 0o700 });
      await chmod(runDir, 0o700);
      await rm(join(runDir, SOCKET_NAME), { force: true });
      this.socketDir = runDir;
    } else {
      this.socketDir = await mkdtemp(join(tmpdir(), `marketchat-${randomBytes(3).toString("hex")}-`));
      this.ownsSocketDir = true;
    }
    const path = join(this.socketDir, SOCKET_NAME);
    await new Promise<void>((ok, fail) => this.server.once("error", fail).listen(path, ok));
    return `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(this.socketDir)}`;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.queue.length = 0;
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
    // Let a unit that is running finish before PGlite is closed under it.
    await this.db.runExclusive(async () => undefined);
    if (this.socketDir) {
      await rm(this.ownsSocketDir ? this.socketDir : join(this.socketDir, SOCKET_NAME), { recursive: true, force: true });
    }
  }

  private accept(socket: Socket): void {
    if (this.failed || this.closing) {
      socket.destroy();
      return;
    }
    const connection = new Connection(socket, (unit) => this.enqueue(unit), () => this.forget(connection));
    this.connections.add(connection);
  }

  private enqueue(unit: Unit): void {
    this.queue.push(unit);
    void this.pump();
  }

  /** A closed connection's queued work is dropped; if it held the session, it is handed back clean. */
  private forget(connection: Connection): void {
    this.connections.delete(connection);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.connection === connection) this.queue.splice(i, 1);
    }
    if (this.owner === connection) {
      // Sync ends an unfinished extended-protocol exchange; ROLLBACK ends a transaction block
      // (outside one it is a harmless warning). The clean-up runs first, still as the owner.
      this.queue.unshift({ connection, bytes: Buffer.concat([SYNC, simpleQuery("ROLLBACK")]), discard: true });
      void this.pump();
    }
  }

  private async pump(): Promise<void> {
    if (this.running || this.failed || this.closing) return;
    this.running = true;
    try {
      while (!this.closing) {
        const index = this.owner ? this.queue.findIndex((u) => u.connection === this.owner) : 0;
        if (index < 0 || this.queue.length === 0) break;
        const unit = this.queue.splice(index, 1)[0]!;
        const tail = new ReadyTracker();
        await this.db.runExclusive(() =>
          this.db.execProtocolRawStream(unit.bytes, {
            onRawData: (data) => {
              tail.push(data);
              // `data` is a view into PGlite's WebAssembly memory, which the next statement
              // overwrites; a socket keeps what it cannot send at once, so it gets a copy.
              if (!unit.discard) unit.connection.write(Buffer.from(data));
            },
          }),
        );
        this.owner = tail.idle ? null : unit.connection;
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.running = false;
    }
  }

  private fail(err: Error): void {
    this.failed = err;
    this.queue.length = 0;
    for (const c of this.connections) c.socket.destroy(err);
    if (!this.closing) this.onFatal(err);
  }
}

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

function simpleQuery(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, "utf8");
  const header = Buffer.alloc(5);
  header.write("Q", 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** One client connection: frames its bytes into protocol messages and hands whole units on. */
class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private pending: Buffer[] = [];
  private closed = false;

  constructor(
    readonly socket: Socket,
    private readonly submit: (unit: Unit) => void,
    private readonly onClose: () => void,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (data: Buffer) => this.receive(data));
    // A reset by the client (pg reports it on its side) ends the connection: "close" follows.
    socket.on("error", () => this.close());
    socket.on("close", () => this.close());
  }

  write(data: Uint8Array): void {
    if (!this.closed && this.socket.writable) this.socket.write(data);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  private receive(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    while (!this.closed) {
      if (!this.started) {
        // Before the startup message, packets are length + code, with no type byte.
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (length < 8 || length > 10_000) return this.reject();
        if (this.buffer.length < length) return;
        const packet = this.buffer.subarray(0, length);
        this.buffer = this.buffer.subarray(length);
        const code = packet.readInt32BE(4);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write("N");
        } else if (code === PROTOCOL_3) {
          this.started = true;
          this.submit({ connection: this, bytes: Buffer.from(packet) });
        } else {
          // CancelRequest (PGlite cannot cancel a running statement) or an unknown protocol.
          return this.reject(code === CANCEL_REQUEST);
        }
        continue;
      }
      if (this.buffer.length < 5) return;
      const length = this.buffer.readInt32BE(1);
      if (length < 4) return this.reject();
      if (this.buffer.length < length + 1) return;
      const type = String.fromCharCode(this.buffer[0]!);
      const message = this.buffer.subarray(0, length + 1);
      this.buffer = this.buffer.subarray(length + 1);
      if (type === TERMINATE) {
        this.socket.end();
        this.close();
        return;
      }
      // Copied: the socket may reuse the chunk's memory before the unit runs.
      this.pending.push(Buffer.from(message));
      if (UNIT_ENDS.has(type)) {
        const bytes = Buffer.concat(this.pending);
        this.pending = [];
        this.submit({ connection: this, bytes });
      }
    }
  }

  private reject(quiet = false): void {
    if (!quiet) this.socket.destroy();
    else this.socket.end();
    this.close();
  }
}

/**
 * Follows the message framing of a unit's output to learn how it ended: with ReadyForQuery 'I'
 * the session is idle and any connection may run next; 'T'/'E' (transaction block) or no
 * ReadyForQuery at all (Flush, COPY) mean the session still belongs to this connection.
 */
class ReadyTracker {
  idle = false;
  private header = Buffer.alloc(0);
  private remaining = 0;
  private type = 0;

  push(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, data.length - offset);
        // The status byte is ReadyForQuery's one-byte body.
        if (this.type === 0x5a && take > 0) this.idle = data[offset] === 0x49;
        this.remaining -= take;
        offset += take;
        continue;
      }
      const need = 5 - this.header.length;
      const take = Math.min(need, data.length - offset);
      this.header = Buffer.concat([this.header, data.subarray(offset, offset + take)]);
      offset += take;
      if (this.header.length === 5) {
        this.type = this.header[0]!;
        this.remaining = this.header.readInt32BE(1) - 4;
        this.header = Buffer.alloc(0);
        this.idle = false;
      }
    }
  }
}
