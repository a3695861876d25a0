// GET (and HEAD) /api/attachments/:id and /api/attachments/:id/thumbnail: the stored bytes, to a
// request with a valid URL signature, or with the bearer token of the uploader or of one of the
// two people of the conversation; anyone else gets not_found (chat/attachment-service.ts), and a
// request with neither a valid signature nor a token gets unauthorized.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AttachmentService, AttachmentVariant, DownloadAccess } from "../../chat/attachment-service.js";
import { AppError, notFound } from "../../errors/errors.js";
import { parseRange } from "../../media/byte-range.js";
import { contentDisposition } from "../../media/safe-file-name.js";
import type { UrlSigner } from "../../media/url-signer.js";
import { caller, type Guards } from "../authenticate.js";
import { pathUuid } from "../params.js";
import { uuidParam } from "../../chat/schemas.js";
import { z } from "zod";

// The bytes under an id never change, but access can end (unsend): browsers keep a private copy
// for an hour at most and revalidate with the ETag after that.
const CACHE_MAX_AGE_SECONDS = 3600;

const bytes = { content: { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } } };
const downloadDocs = {
  description: "The stored bytes: with the URL's signature (expires, sig), or the bearer token of a participant",
  params: uuidParam,
  querystring: z.object({ expires: z.string().optional(), sig: z.string().optional() }),
  response: {
    200: { description: "The bytes (Content-Type as stored)", ...bytes },
    206: { description: "A byte range", ...bytes },
    304: { description: "Not modified (If-None-Match)", type: "null" },
  },
};

type Download = { Params: { id: string }; Querystring: Record<string, unknown> };

export function attachmentRoutes(
  app: FastifyInstance,
  deps: { guards: Guards; attachments: AttachmentService; signer: UrlSigner },
): void {
  const serve = (variant: AttachmentVariant) => async (request: FastifyRequest<Download>, reply: FastifyReply) => {
    const id = pathUuid(request.params.id, "attachment");
    const path = variant === "thumbnail" ? `/api/attachments/${id}/thumbnail` : `/api/attachments/${id}`;
    const file = await deps.attachments.download(id, variant, await accessOf(request, reply, path));
    const etag = `"${file.id}${variant === "thumbnail" ? ".thumb" : ""}"`;
    const headers: Record<string, string> = {
      etag,
      "cache-control": `private, max-age=${CACHE_MAX_AGE_SECONDS}`,
      vary: "Authorization",
    };
    if (etagMatches(request.headers["if-none-match"], etag)) return reply.status(304).headers(headers).send();

    const object = await file.open();
    if (!object) throw notFound("attachment");
    Object.assign(headers, {
      "content-type": file.mimeType,
      // Re-encoded images are safe to show inline; every other type is only ever a download.
      "content-disposition": contentDisposition(file.kind === "image" ? "inline" : "attachment", file.name),
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      "accept-ranges": "bytes",
    });
    // If-Range: a range is only valid against the same bytes the client already holds.
    const ifRange = request.headers["if-range"];
    const range = ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, object.size) : { kind: "whole" as const };
    if (range.kind === "unsatisfiable") {
      await object.close();
      return reply
        .status(416)
        .headers({ ...headers, "content-range": `bytes */${object.size}`, "content-type": "application/json; charset=utf-8" })
        .send({ error: { code: "validation_failed", message: `Range not satisfiable: the file has ${object.size} bytes` } });
    }
    const partial = range.kind === "partial" ? range.range : null;
    const length = partial ? partial.end - partial.start + 1 : object.size;
    reply.status(partial ? 206 : 200).headers({ ...headers, "content-length": String(length) });
    if (partial) reply.header("content-range", `bytes ${partial.start}-${partial.end}/${object.size}`);
    if (request.method === "HEAD") {
      await object.close();
      return reply.send();
    }
    return reply.send(partial ? object.read(partial) : object.read());
  };

  /** A valid signature first; otherwise the bearer token, when there is one. */
  async function accessOf(request: FastifyRequest<Download>, reply: FastifyReply, path: string): Promise<DownloadAccess> {
    const { expires, sig } = request.query;
    if (typeof expires === "string" && typeof sig === "string" && deps.signer.verify(path, expires, sig)) {
      return { signed: true };
    }
    // Neither a valid signature nor a token: the caller has not authenticated (401), whatever the id.
    if (request.headers.authorization === undefined) throw new AppError("unauthorized", "Use the signed URL, or send a bearer token");
    await deps.guards.user(request, reply);
    return { signed: false, principal: caller(request) };
  }

  for (const [url, variant] of [
    ["/api/attachments/:id", "original"],
    ["/api/attachments/:id/thumbnail", "thumbnail"],
  ] as const) {
    // HEAD is declared with GET so it answers from the same checks without opening a stream.
    app.route<Download>({ method: ["GET", "HEAD"], url, schema: downloadDocs, handler: serve(variant) });
  }
}

/** If-None-Match: "*", or a list of (possibly weak) entity tags. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}
