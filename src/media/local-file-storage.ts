// FileStorage on the local disk (or a volume shared by every node). A file appears under its key
// by rename, so readers never see half-written bytes.
import { createReadStream } from "node:fs";
import { copyFile, mkdir, open, rename, rm, unlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { assertKey, type FileStorage, type StoredObject } from "./file-storage.js";

export class LocalFileStorage implements FileStorage {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Creates the directory and proves it writable, so a bad UPLOAD_DIR stops start-up, not the first upload. */
  async ensureWritable(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const probe = join(this.root, `.probe-${process.pid}-${Date.now()}`);
    await writeFile(probe, "");
    await unlink(probe);
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(localPath, target);
    } catch (err) {
      // The staging directory may sit on another filesystem (a tmpfs, a different volume).
      if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
      await copyFile(localPath, target);
      await unlink(localPath);
    }
  }

  async open(key: string): Promise<StoredObject | null> {
    let handle;
    try {
      handle = await open(this.pathOf(key), "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    const fh = handle;
    try {
      const { size } = await fh.stat();
      return {
        size,
        // The stream reads from the handle opened above, so a concurrent delete (unsend) cannot
        // turn a started download into a different or missing file.
        read: (range) => createReadStream("", { fd: fh, autoClose: true, ...(range ?? {}) }),
        close: () => fh.close(),
      };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.pathOf(key), { force: true })));
  }

  private pathOf(key: string): string {
    assertKey(key);
    return join(this.root, key);
  }
}
