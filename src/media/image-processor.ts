// The image half of an upload: decode, turn upright by the EXIF orientation, drop every byte of
// metadata (EXIF with GPS and camera serials, XMP, IPTC, ICC after conversion to sRGB), bound the
// long side, re-encode compressed, and make a thumbnail from the result. This module is the only
// one that touches sharp.
import sharp, { type Sharp } from "sharp";
import { AppError } from "../errors/errors.js";
import { Semaphore } from "./semaphore.js";

export interface ImageProcessorOptions {
  /** Refuse inputs with more pixels than this (width × height), before decoding them. */
  maxInputPixels: number;
  /** The long side of the stored image, in pixels; smaller images are not enlarged. */
  maxDimension: number;
  /** The long side of the thumbnail, in pixels. */
  thumbnailDimension: number;
  /** Encoder quality, 1–100, for the image; the thumbnail uses a little less. */
  quality: number;
  /** Images decoded at once by this process. */
  concurrency: number;
}

export interface ProcessedImage {
  mime: "image/jpeg" | "image/webp";
  ext: "jpg" | "webp";
  width: number;
  height: number;
  size: number;
  path: string;
  thumbnailPath: string;
}

// A pathological input (a progressive JPEG with thousands of scans) can burn CPU for minutes
// while staying under every size limit; past this it is refused instead.
const DECODE_TIMEOUT_SECONDS = 30;
const THUMBNAIL_QUALITY_DROP = 10;

// libvips' operation cache keeps recent inputs and results around for reuse; every upload is a
// different image, so the cache would only hold memory.
sharp.cache(false);

export class ImageProcessor {
  private readonly slots: Semaphore;

  constructor(private readonly options: ImageProcessorOptions) {
    this.slots = new Semaphore(options.concurrency);
  }

  /**
   * Processes the image file at `input`, writing `<outputBase>.<ext>` and `<outputBase>.thumb.<ext>`.
   * Throws payload_too_large for too many pixels and unsupported_media_type for what cannot be
   * decoded; throws `signal`'s reason when it was aborted before a slot came free.
   */
  process(input: string, outputBase: string, mime: string, signal?: AbortSignal): Promise<ProcessedImage> {
    return this.slots.use(async () => {
      // The request failed while this image waited for a slot: do not spend a decode on it.
      signal?.throwIfAborted();
      try {
        return await this.run(input, outputBase);
      } catch (err) {
        throw classify(err, mime, this.options.maxInputPixels);
      }
    });
  }

  /** Images being processed and waiting, for metrics. */
  get load(): { active: number; waiting: number } {
    return this.slots.pending;
  }

  private async run(input: string, outputBase: string): Promise<ProcessedImage> {
    const { maxDimension, thumbnailDimension, quality } = this.options;
    // The header alone says whether the pixel count is acceptable, before anything is decoded.
    const meta = await this.open(input).metadata();
    const transparent = meta.hasAlpha === true;
    const ext = transparent ? "webp" : "jpg";
    const path = `${outputBase}.${ext}`;
    const thumbnailPath = `${outputBase}.thumb.${ext}`;
    const main = await encode(
      this.open(input).autoOrient().resize(maxDimension, maxDimension, { fit: "inside", withoutEnlargement: true }),
      transparent,
      quality,
    ).toFile(path);
    // The thumbnail is made from the stored image (already upright, small and sRGB): decoding
    // it costs a fraction of decoding the 12-megapixel original again.
    await encode(
      this.open(path).resize(thumbnailDimension, thumbnailDimension, { fit: "inside", withoutEnlargement: true }),
      transparent,
      Math.max(1, quality - THUMBNAIL_QUALITY_DROP),
    ).toFile(thumbnailPath);
    return { mime: transparent ? "image/webp" : "image/jpeg", ext, width: main.width, height: main.height, size: main.size, path, thumbnailPath };
  }

  private open(path: string): Sharp {
    return sharp(path, {
      limitInputPixels: this.options.maxInputPixels,
      // 'error' refuses broken and truncated images (a half-uploaded JPEG would otherwise be
      // stored with a grey lower half) while still accepting the harmless warnings that many
      // phone cameras trigger (odd EXIF, trailing bytes), which the default 'warning' refuses.
      failOn: "error",
      // Only the first frame of an animated GIF/WebP is kept: a still image is what a listing
      // photo needs, and frames × pixels would escape the pixel limit.
      animated: false,
    }).timeout({ seconds: DECODE_TIMEOUT_SECONDS });
  }
}

function encode(pipeline: Sharp, transparent: boolean, quality: number): Sharp {
  // Without withMetadata()/keepExif(), sharp writes no EXIF, XMP, IPTC or ICC: all of it is dropped.
  return transparent
    ? pipeline.webp({ quality, effort: 4 })
    : // mozjpeg's trellis quantisation makes a 12 MP photo's JPEG ~20% smaller than libjpeg-turbo's
      // at the same quality; its scan search would save ~6% more for ~35% more CPU, so it is off.
      pipeline.jpeg({ quality, mozjpeg: true, optimiseScans: false });
}

function classify(err: unknown, mime: string, maxPixels: number): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    return new AppError("payload_too_large", `The image has more than ${maxPixels.toLocaleString("en")} pixels`);
  }
  if (mime === "image/heic" || mime === "image/heif") {
    return new AppError("unsupported_media_type", "HEIC images cannot be read by this server: send JPEG, PNG or WebP");
  }
  if (/timeout/i.test(message)) return new AppError("unsupported_media_type", "The image took too long to decode");
  return new AppError("unsupported_media_type", "The image is damaged or incomplete and could not be decoded");
}
