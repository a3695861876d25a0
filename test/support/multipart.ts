// multipart/form-data bodies for app.inject(), built by the platform's own FormData encoder, plus
// the raw-bytes builder that bad-input tests need (truncated bodies, odd names) which FormData
// would refuse to produce.
import { randomBytes } from "node:crypto";

export interface FilePart {
  field?: string;
  name: string;
  data: Buffer | string;
  type?: string;
}

/** A well-formed body: { payload, headers } ready for inject(). */
export async function multipartBody(files: FilePart[], fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const f of files) {
    form.append(f.field ?? "file", new Blob([f.data], { type: f.type ?? "application/octet-stream" }), f.name);
  }
  const request = new Request("http://localhost/", { method: "POST", body: form });
  return {
    payload: Buffer.from(await request.arrayBuffer()),
    headers: { "content-type": request.headers.get("content-type")! },
  };
}

/** A body written byte by byte, file names passed through unescaped. */
export function rawMultipart(files: FilePart[], opts: { closing?: boolean } = {}) {
  const boundary = `----mc${randomBytes(8).toString("hex")}`;
  const chunks: Buffer[] = [];
  for (const f of files) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${f.field ?? "file"}"; filename="${f.name}"\r\n` +
          `Content-Type: ${f.type ?? "application/octet-stream"}\r\n\r\n`,
      ),
      Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data),
      Buffer.from("\r\n"),
    );
  }
  if (opts.closing !== false) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { "content-type": `multipart/form-data; boundary=${boundary}` } };
}
