// File names come from the client and go back out in Content-Disposition and in the UI, so they
// are reduced to a plain last path segment: no directories, no control or bidi-override
// characters (an "invoice\u202Efdp.exe" trick), no characters that Windows refuses, bounded
// length, and an extension that matches what the bytes really are.

const MAX_NAME_CHARS = 200;
// C0/C1 controls, DEL, bidi embeddings/overrides/isolates, zero-width and BOM characters.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const RESERVED = /[<>:"/\\|?*]/g;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i;
const ALIASES: Record<string, string[]> = { jpg: ["jpg", "jpeg", "jpe", "jfif"], heic: ["heic", "heif"] };

/**
 * A display and download name for an upload: the client's name made safe, with `ext` as its
 * extension. `replaceExtension` (images, which are re-encoded) swaps the old extension for the
 * new one; otherwise a name whose extension does not match gets `ext` appended.
 */
export function safeFileName(clientName: string | undefined, fallback: string, ext: string, replaceExtension: boolean): string {
  const name = cleanName(clientName);
  const dot = name.lastIndexOf(".");
  let stem = dot > 0 ? name.slice(0, dot) : name;
  const currentExt = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  const matches = (ALIASES[ext] ?? [ext]).includes(currentExt);
  if (!replaceExtension && dot > 0 && !matches) stem = name;
  if (stem.trim() === "") stem = fallback;
  const suffix = `.${ext}`;
  const chars = [...stem];
  if (chars.length + suffix.length > MAX_NAME_CHARS) stem = chars.slice(0, MAX_NAME_CHARS - suffix.length).join("");
  return `${stem}${suffix}`;
}

/** The client's name reduced to a safe last path segment, extension untouched ("" if nothing is left). */
export function cleanName(clientName: string | undefined): string {
  const lastSegment = (clientName ?? "").split(/[/\\]/).pop() ?? "";
  const name = lastSegment
    .normalize("NFC")
    .replace(INVISIBLE, "")
    .replace(RESERVED, "_")
    .trim()
    .replace(/^\.+/, "")
    .replace(/[. ]+$/, "");
  return WINDOWS_DEVICE.test(name) ? `_${name}` : name;
}

/** Content-Disposition with an ASCII fallback and the exact UTF-8 name (RFC 6266 / RFC 8187). */
export function contentDisposition(type: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
