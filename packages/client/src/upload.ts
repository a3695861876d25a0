// POST /api/uploads with progress. Browsers: XMLHttpRequest, whose upload events report bytes as
// they leave. Node (no XMLHttpRequest): fetch, which reports no progress, so the callback hears
// 0 at the start and the total once the service answered.
import type { AttachmentView } from "./contract.js";
import { ChatError } from "./errors.js";
import { parseResponse } from "./http-api.js";
import type { TokenSource } from "./token.js";

export interface UploadProgress {
  /** Bytes sent so far (the multipart body's, so a little more than the files'). */
  loaded: number;
  total: number;
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

/** A file to upload: a browser File, or any Blob with a name (Node: `new File([bytes], name, { type })`). */
export type UploadFile = Blob & { name?: string };

/** The service takes up to 10 files per request (API.md, "POST /api/uploads"). */
export const MAX_FILES_PER_UPLOAD = 10;

export async function uploadFiles(url: string, tokens: TokenSource, files: UploadFile[], options: UploadOptions = {}): Promise<AttachmentView[]> {
  if (files.length === 0) return [];
  if (files.length > MAX_FILES_PER_UPLOAD) {
    throw new ChatError("validation_failed", `At most ${MAX_FILES_PER_UPLOAD} files per upload`);
  }
  const form = () => {
    const data = new FormData();
    files.forEach((file, i) => data.append("file", file, file.name ?? `file-${i + 1}`));
    return data;
  };
  const post = typeof XMLHttpRequest === "function" ? postWithXhr : postWithFetch;
  let answer = await post(url, await tokens.get(), form(), options);
  if (answer.status === 401 && tokens.refreshable) answer = await post(url, await tokens.refresh(), form(), options);
  return parseResponse<{ attachments: AttachmentView[] }>(answer.status, answer.text, answer.retryAfter).attachments;
}

interface RawAnswer {
  status: number;
  text: string;
  retryAfter: string | null;
}

function postWithXhr(url: string, token: string, body: FormData, options: UploadOptions): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => options.onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : e.loaded });
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText, retryAfter: xhr.getResponseHeader("retry-after") });
    xhr.onerror = () => reject(new ChatError("network", "Upload failed: no answer from the service"));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => reject(new ChatError("aborted", "Upload aborted"));
    if (options.signal) {
      if (options.signal.aborted) return reject(new ChatError("aborted", "Upload aborted"));
      options.signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(body);
  });
}

async function postWithFetch(url: string, token: string, body: FormData, options: UploadOptions): Promise<RawAnswer> {
  const total = [...body.values()].reduce((n, v) => n + (typeof v === "string" ? v.length : v.size), 0);
  options.onProgress?.({ loaded: 0, total });
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if (options.signal?.aborted) throw new ChatError("aborted", "Upload aborted");
    throw new ChatError("network", `Upload failed: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (res.ok) options.onProgress?.({ loaded: total, total });
  return { status: res.status, text, retryAfter: res.headers.get("retry-after") };
}
