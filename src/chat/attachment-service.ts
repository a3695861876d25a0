// Uploads and downloads of attachments: who may upload, who may fetch which bytes, and the
// cleanup of uploads that never made it into a message. The media work itself (staging, typing by
// content, sharp, storage) is media/'s; sending with attachmentIds is message-service's.
import type { Principal } from "../auth/token-verifier.js";
import type { AttachmentRepository, DownloadRecord } from "../db/attachment-repository.js";
import { AppError, notFound, invalid } from "../errors/errors.js";
import type { FileStorage, StoredObject } from "../media/file-storage.js";
import type { MediaPipeline, PreparedUpload, UploadPart } from "../media/upload-batch.js";
import type { Presenter } from "./presenter.js";
import { MAX_ATTACHMENTS } from "./schemas.js";
import type { AttachmentView } from "../contract/shapes.js";

export type AttachmentVariant = "original" | "thumbnail";

/** How a download request proved itself: a valid URL signature, or a verified bearer token. */
export type DownloadAccess = { signed: true } | { signed: false; principal: Principal | null };

export interface Download {
  id: string;
  kind: "image" | "file";
  mimeType: string;
  name: string;
  /** The bytes; null when they are gone (unsent or swept since the row was read). */
  open(): Promise<StoredObject | null>;
}

export interface AttachmentServiceDeps {
  repo: AttachmentRepository;
  media: MediaPipeline;
  storage: FileStorage;
  presenter: Presenter;
  /** Uploads not used in a message for this long are deleted (UPLOAD_ORPHAN_TTL_MS). */
  orphanTtlMs: number;
  /** Called after each successful upload request (metrics, benchmark). */
  onUploaded?: (uploads: readonly PreparedUpload[]) => void;
}

// Rows per DELETE, and DELETEs per sweep: a backlog is worked off over several runs rather than
// in one long transaction.
const SWEEP_BATCH = 500;
const SWEEP_MAX_BATCHES = 20;
// Staging directories older than this belong to a process that died mid-upload.
const STALE_STAGING_MS = 60 * 60 * 1000;

export class AttachmentService {
  constructor(private readonly deps: AttachmentServiceDeps) {}

  /**
   * Stores one request's files for `caller`. All or nothing: when any file is refused, nothing
   * is recorded and nothing stays in storage or staging.
   */
  async upload(caller: Principal, parts: AsyncIterable<UploadPart>): Promise<AttachmentView[]> {
    const batch = this.deps.media.batch();
    let recorded = false;
    try {
      for await (const part of parts) {
        if (batch.fileCount >= MAX_ATTACHMENTS) {
          throw new AppError("payload_too_large", `At most ${MAX_ATTACHMENTS} files per upload`);
        }
        await batch.add(part);
      }
      if (batch.fileCount === 0) throw invalid('file: send at least one file in the multipart field "file"');
      const uploads = await batch.finish();
      await this.deps.repo.insertMany(caller.userId, uploads);
      recorded = true;
      this.deps.onUploaded?.(uploads);
      return uploads.map((u) =>
        this.deps.presenter.attachment({
          id: u.id,
          kind: u.kind,
          mimeType: u.mimeType,
          name: u.name,
          size: u.size,
          width: u.width,
          height: u.height,
          hasThumbnail: u.thumbnailKey !== null,
        }),
      );
    } finally {
      try {
        if (!recorded) await batch.discard();
      } finally {
        await batch.cleanup();
      }
    }
  }

  /**
   * The stored bytes a request may fetch. Everyone but the uploader and the two people of the
   * conversation the attachment was sent in gets not_found, exactly like an unknown id.
   */
  async download(id: string, variant: AttachmentVariant, access: DownloadAccess): Promise<Download> {
    const record = await this.deps.repo.findForDownload(id);
    if (!record || !mayFetch(record, access)) throw notFound("attachment");
    const key = variant === "thumbnail" ? record.thumbnailKey : record.storageKey;
    if (!key) throw notFound("attachment");
    const { storage } = this.deps;
    return { id: record.id, kind: record.kind, mimeType: record.mimeType, name: record.name, open: () => storage.open(key) };
  }

  /** Deletes stored bytes (after an unsend). */
  async deleteStoredFiles(keys: string[]): Promise<void> {
    await this.deps.storage.delete(keys);
  }

  /** Deletes uploads never sent within the TTL, then stale staging; returns uploads removed. */
  async sweepOrphans(): Promise<number> {
    let removed = 0;
    for (let i = 0; i < SWEEP_MAX_BATCHES; i++) {
      const { count, keys } = await this.deps.repo.deleteOrphans(this.deps.orphanTtlMs, SWEEP_BATCH);
      // Rows go first: if this process dies now, bytes without a row are unreachable garbage,
      // whereas a row without bytes would be a broken attachment.
      await this.deps.storage.delete(keys);
      removed += count;
      if (count < SWEEP_BATCH) break;
    }
    await this.deps.media.sweepStaging(STALE_STAGING_MS);
    return removed;
  }
}

function mayFetch(record: DownloadRecord, access: DownloadAccess): boolean {
  if (access.signed) return true;
  const userId = access.principal?.userId;
  if (userId === undefined) return false;
  if (record.uploaderId === userId) return true;
  const people = record.participants;
  if (people === null) return false;
  // Every admin is the team of a support conversation (README, "Support conversations").
  if (people.support && access.principal?.role === "admin") return true;
  return people.buyerId === userId || people.sellerId === userId;
}
