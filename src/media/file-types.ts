// What may be uploaded, decided by the bytes (magic numbers, via file-type), never by the file
// name or the client's Content-Type. Images are decoded and re-encoded by sharp, so only formats
// its build reads are listed; everything else is stored as sent and served as a download.

/** Image formats accepted on input (re-encoded to JPEG, or WebP when they carry transparency). */
export const IMAGE_TYPES: Readonly<Record<string, string>> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/webp": "webp",
  "image/gif": "gif",
  "image/avif": "avif",
  // HEIC/HEIF (iPhone photos) are accepted only if sharp's libvips build decodes HEVC; the
  // prebuilt binaries do not (patents), so those uploads fail decoding → unsupported_media_type.
  "image/heic": "heic",
  "image/heif": "heif",
};

/**
 * Non-image types the service knows how to recognise by content and serve safely as a download
 * (UPLOAD_FILE_TYPES picks among them). Plain text is deliberately absent: it has no magic bytes,
 * so a text file could not be told from anything else named .txt (text belongs in the message).
 */
export const KNOWN_FILE_TYPES: Readonly<Record<string, string>> = {
  "application/pdf": "pdf",
  "application/zip": "zip",
  "application/rtf": "rtf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
  "application/vnd.oasis.opendocument.text": "odt",
  "application/vnd.oasis.opendocument.spreadsheet": "ods",
};

/** The default UPLOAD_FILE_TYPES: invoices and documents as PDF; archives are opt-in. */
export const DEFAULT_FILE_TYPES = ["application/pdf"];

export type DetectedType = { kind: "image"; mime: string; ext: string } | { kind: "file"; mime: string; ext: string };
