// Types an uploaded file by its first bytes. The client's file name and Content-Type are not
// consulted: a text file named photo.png is text, and is refused.
import { fileTypeFromFile } from "file-type";
import { IMAGE_TYPES, KNOWN_FILE_TYPES, type DetectedType } from "./file-types.js";

export class ContentSniffer {
  private readonly fileTypes: ReadonlySet<string>;

  constructor(allowedFileTypes: readonly string[]) {
    this.fileTypes = new Set(allowedFileTypes.filter((t) => t in KNOWN_FILE_TYPES));
  }

  /** The allowed type of the file at `path`, or null when it is unknown or not allowed. */
  async detect(path: string): Promise<DetectedType | null> {
    const found = await fileTypeFromFile(path);
    if (!found) return null;
    const image = IMAGE_TYPES[found.mime];
    if (image) return { kind: "image", mime: found.mime, ext: image };
    if (this.fileTypes.has(found.mime)) return { kind: "file", mime: found.mime, ext: KNOWN_FILE_TYPES[found.mime]! };
    return null;
  }

  /** The allowed types, for error messages. */
  describe(): string {
    const files = [...this.fileTypes].map((t) => KNOWN_FILE_TYPES[t]!.toUpperCase());
    return ["JPEG", "PNG", "WebP", "GIF", "AVIF", "HEIC", ...files].join(", ");
  }
}
