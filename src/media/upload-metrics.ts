// Prometheus metrics of uploads on this node, on the app's registry: what was stored, what
// re-encoding saved, how many images wait for a decoding slot (a growing queue means
// UPLOAD_IMAGE_CONCURRENCY or the node count is too low), and what the sweep removed.
import { Counter, Gauge, type Registry } from "prom-client";
import type { ImageProcessor } from "./image-processor.js";
import type { PreparedUpload } from "./upload-batch.js";

export interface UploadMetrics {
  uploaded(uploads: readonly PreparedUpload[]): void;
  swept(count: number): void;
}

export function createUploadMetrics(registry: Registry, images: ImageProcessor): UploadMetrics {
  const files = new Counter({ name: "marketchat_uploads_total", help: "Files stored by uploads, by kind", labelNames: ["kind"], registers: [registry] });
  const received = new Counter({ name: "marketchat_upload_received_bytes_total", help: "Bytes of uploaded files as sent", registers: [registry] });
  const stored = new Counter({
    name: "marketchat_upload_stored_bytes_total",
    help: "Bytes of uploaded files as stored (images re-encoded; thumbnails not counted)",
    registers: [registry],
  });
  const swept = new Counter({ name: "marketchat_uploads_swept_total", help: "Uploads deleted because no message used them in time", registers: [registry] });
  new Gauge({
    name: "marketchat_image_jobs",
    help: "Images being decoded (active) and waiting for a slot (waiting)",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const { active, waiting } = images.load;
      this.set({ state: "active" }, active);
      this.set({ state: "waiting" }, waiting);
    },
  });
  return {
    uploaded(uploads) {
      for (const u of uploads) {
        files.inc({ kind: u.kind });
        received.inc(u.receivedBytes);
        stored.inc(u.size);
      }
    },
    swept: (count) => swept.inc(count),
  };
}
