// POST /api/uploads: multipart files in the field "file", streamed through media/ to storage.
// @fastify/multipart is registered in a scope of its own, so the rest of the API keeps parsing
// JSON only and the multipart limits apply to this route alone.
import multipart from "@fastify/multipart";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AttachmentService } from "../../chat/attachment-service.js";
import { MAX_ATTACHMENTS } from "../../chat/schemas.js";
import { AppError, invalid } from "../../errors/errors.js";
import type { UploadPart } from "../../media/upload-batch.js";
import { caller, type Guards } from "../authenticate.js";
import { attachmentShape } from "../docs/response-schemas.js";
import { z } from "zod";

export const UPLOAD_FIELD = "file";
// Multipart framing around the files: boundaries and part headers, a few hundred bytes a part.
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

const uploadDocs = {
  description: `multipart/form-data with up to ${MAX_ATTACHMENTS} files in the field "${UPLOAD_FIELD}"`,
  consumes: ["multipart/form-data"],
  body: z.object({ [UPLOAD_FIELD]: z.array(z.string().meta({ contentMediaType: "application/octet-stream" })).max(MAX_ATTACHMENTS) }),
  response: { 201: z.object({ attachments: z.array(attachmentShape) }) },
};

export interface UploadRouteDeps {
  guards: Guards;
  attachments: AttachmentService;
  maxFileBytes: number;
  maxRequestBytes: number;
  /** Uploads one user may have in progress at once on this node; 0: no limit (README, "Connection limits"). */
  maxInFlightPerUser?: number;
}

export function uploadRoutes(app: FastifyInstance, deps: UploadRouteDeps): void {
  /** Uploads in progress per user, on this node. */
  const inFlight = new Map<string, number>();
  app.register(async (scope) => {
    await scope.register(multipart, {
      limits: {
        fileSize: deps.maxFileBytes,
        files: MAX_ATTACHMENTS,
        // A client may add a few text fields (ignored); anything beyond is not a chat upload.
        fields: 20,
        fieldSize: 16 * 1024,
        parts: MAX_ATTACHMENTS + 20,
        headerPairs: 50,
      },
    });
    // Other body types reach the handler unread and get a 415 that says what to send (the
    // app-wide message for an unknown content type asks for JSON).
    scope.addContentTypeParser("*", (_request, _payload, done) => done(null));

    const rejectOversized = async (request: FastifyRequest) => {
      const length = Number(request.headers["content-length"]);
      if (length > deps.maxRequestBytes + MULTIPART_OVERHEAD_BYTES) {
        throw new AppError("payload_too_large", `An upload may total at most ${Math.floor(deps.maxRequestBytes / (1024 * 1024))} MB`);
      }
    };
    // A refused upload may still be streaming in; closing the connection after the error stops it
    // instead of reading (and discarding) the rest of a large body.
    const closeIfUnread = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      if (reply.statusCode >= 400 && !request.raw.complete) reply.header("connection", "close");
      return payload;
    };

    scope.post(
      "/api/uploads",
      { onRequest: [deps.guards.user, rejectOversized], onSend: closeIfUnread, schema: uploadDocs },
      async (request, reply) => {
        if (!request.isMultipart()) {
          throw new AppError("unsupported_media_type", `Send multipart/form-data with the files in the field "${UPLOAD_FIELD}"`);
        }
        // The upload rate limit counts new requests; this counts open ones, which a client that
        // drips its bodies would otherwise pile up (each holding a staging file and a connection).
        const userId = caller(request).userId;
        const open = inFlight.get(userId) ?? 0;
        if (deps.maxInFlightPerUser && open >= deps.maxInFlightPerUser) {
          throw new AppError("rate_limited", `At most ${deps.maxInFlightPerUser} uploads at once: wait for one to finish`, 1000);
        }
        inFlight.set(userId, open + 1);
        try {
          const attachments = await deps.attachments.upload(caller(request), filesOf(request));
          return reply.status(201).send({ attachments });
        } finally {
          const left = (inFlight.get(userId) ?? 1) - 1;
          if (left > 0) inFlight.set(userId, left);
          else inFlight.delete(userId);
        }
      },
    );
  });
}

/** The request's file parts; text fields are skipped, a file in another field is refused. */
async function* filesOf(request: FastifyRequest): AsyncGenerator<UploadPart> {
  const parts = request.parts();
  for (;;) {
    let next: Awaited<ReturnType<typeof parts.next>>;
    try {
      next = await parts.next();
    } catch (err) {
      throw multipartError(err);
    }
    if (next.done) return;
    const part = next.value;
    if (part.type !== "file") continue;
    if (part.fieldname !== UPLOAD_FIELD) {
      throw invalid(`Send files in the multipart field "${UPLOAD_FIELD}" (got "${part.fieldname.slice(0, 40)}")`);
    }
    const file = part.file;
    yield { filename: part.filename, stream: file, truncated: () => file.truncated };
  }
}

/** The plugin's own errors (limits) carry FST_ codes the error handler maps; the rest is malformed input. */
function multipartError(err: unknown): Error {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof AppError || (typeof code === "string" && code.startsWith("FST_"))) return err as Error;
  return invalid("The multipart body is malformed");
}
