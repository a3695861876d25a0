// Messages on their way: queued while offline, uploading their files, waiting for the ack, or
// failed for a reason that retrying will not fix. Threads show these under the stored messages
// until the stored copy arrives. With a `storage` (localStorage, say) the text ones survive a
// reload and are sent, with the same clientId, by the next client that opens that storage.
import type { ChatError } from "./errors.js";
import { StateStore } from "./store.js";
import type { UploadFile, UploadProgress } from "./upload.js";

export type OutgoingStatus = "queued" | "uploading" | "sending" | "failed";

export interface OutgoingFile {
  name: string;
  type: string;
  size: number;
  /** An object URL for showing the file before it is uploaded (browsers; null elsewhere). */
  previewUrl: string | null;
}

export interface OutgoingMessage {
  clientId: string;
  conversationId: string;
  content?: string;
  replyToId?: string;
  /** Attachments already uploaded (passed in, or once the files are up). */
  attachmentIds?: string[];
  /** Files picked by the user (shown until the stored message replaces this one). */
  files: OutgoingFile[];
  /** `queued`: waiting for a connection (or for the messages before it in the conversation). */
  status: OutgoingStatus;
  /** Upload progress while `uploading`. */
  progress: UploadProgress | null;
  /** Why it failed, or (while `queued` again) why the last attempt did not go through. */
  error: ChatError | null;
  createdAt: string;
}

/** Where the outbox keeps its text messages across reloads. */
export interface OutboxStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

type Persisted = Pick<OutgoingMessage, "clientId" | "conversationId" | "content" | "replyToId" | "attachmentIds" | "createdAt">;

export class Outbox extends StateStore<readonly OutgoingMessage[]> {
  /** The picked files, kept out of the snapshot (they are not state a view renders). */
  private readonly blobs = new Map<string, UploadFile[]>();

  /**
   * `storageKey` names the user's slot in the storage (null while the user is not known yet:
   * nothing is kept then), so users sharing a browser's storage never send each other's messages.
   */
  constructor(
    private readonly storage: OutboxStorage | undefined,
    private readonly storageKey: () => string | null,
  ) {
    super([]);
  }

  get(clientId: string): OutgoingMessage | undefined {
    return this.getSnapshot().find((m) => m.clientId === clientId);
  }

  /** The files still to upload (none once they are up). */
  filesOf(clientId: string): UploadFile[] {
    return this.blobs.get(clientId) ?? [];
  }

  /** The files are up: `attachmentIds` replaces them for the send (and for a reload). */
  uploaded(clientId: string, attachmentIds: string[]): void {
    this.blobs.delete(clientId);
    this.patch(clientId, { attachmentIds, progress: null });
    this.persist();
  }

  add(message: OutgoingMessage, files: UploadFile[] = []): void {
    if (files.length > 0) this.blobs.set(message.clientId, files);
    this.update((all) => [...all.filter((m) => m.clientId !== message.clientId), message]);
    this.persist();
  }

  patch(clientId: string, change: Partial<OutgoingMessage>): void {
    if (!this.get(clientId)) return;
    this.update((all) => all.map((m) => (m.clientId === clientId ? { ...m, ...change } : m)));
    if (change.status !== undefined) this.persist();
  }

  remove(clientId: string): void {
    if (!this.get(clientId)) return;
    this.release(clientId);
    this.blobs.delete(clientId);
    this.update((all) => all.filter((m) => m.clientId !== clientId));
    this.persist();
  }

  /** The messages a previous client left in the storage. */
  restore(): Persisted[] {
    const key = this.storageKey();
    if (!this.storage || !key) return [];
    try {
      const stored = JSON.parse(this.storage.getItem(key) ?? "[]") as unknown;
      return Array.isArray(stored) ? (stored as Persisted[]).filter((m) => typeof m?.clientId === "string" && typeof m.conversationId === "string") : [];
    } catch {
      return [];
    }
  }

  /** Writes the outbox to the storage (called on every change, and once the user is known). */
  persist(): void {
    const key = this.storageKey();
    if (!this.storage || !key) return;
    // Messages with files still to upload cannot be resent after a reload (the files are gone);
    // failed ones would fail again.
    const kept: Persisted[] = this.getSnapshot()
      .filter((m) => !this.blobs.has(m.clientId) && m.status !== "failed")
      .map(({ clientId, conversationId, content, replyToId, attachmentIds, createdAt }) => ({ clientId, conversationId, content, replyToId, attachmentIds, createdAt }));
    try {
      if (kept.length === 0) this.storage.removeItem(key);
      else this.storage.setItem(key, JSON.stringify(kept));
    } catch {
      // A full or unavailable storage only loses the across-reload guarantee.
    }
  }

  private release(clientId: string): void {
    for (const file of this.get(clientId)?.files ?? []) {
      if (file.previewUrl && typeof URL.revokeObjectURL === "function") URL.revokeObjectURL(file.previewUrl);
    }
  }
}
