// The development JWT secret of embedded mode. `npm start` on a fresh machine has no JWT_SECRET;
// rather than refuse to start, the node keeps a random secret in DATA_DIR (mode 0600) and reuses it
// on every start, so tokens minted for the demo keep working across restarts. Never used in
// production (config.ts requires a key there) nor when DATABASE_URL is set.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

export const DEV_SECRET_FILE = "dev-jwt-secret";
const MIN_SECRET_LENGTH = 32;

export interface DevSecret {
  secret: string;
  path: string;
  /** Made by this start (false: read from an earlier one). */
  created: boolean;
}

export async function loadOrCreateDevSecret(dataDir: string): Promise<DevSecret> {
  const dir = resolve(dataDir);
  const path = join(dir, DEV_SECRET_FILE);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`DATA_DIR ${dir} cannot be created: ${(err as Error).message}`);
  }
  const secret = randomBytes(48).toString("base64url");
  try {
    // "wx": two nodes started at once must not each write a different secret.
    await writeFile(path, `${secret}\n`, { flag: "wx", mode: 0o600 });
    return { secret, path, created: true };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EEXIST") throw new Error(`DATA_DIR ${dir} is not writable: ${(err as Error).message}`);
  }
  const stored = (await readFile(path, "utf8")).trim();
  if (stored.length < MIN_SECRET_LENGTH) {
    throw new Error(`${path} holds no usable secret (fewer than ${MIN_SECRET_LENGTH} characters): delete it to make a new one, or set JWT_SECRET`);
  }
  // A copy or an archive may have widened the mode; the secret signs every token of this node.
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
  return { secret: stored, path, created: false };
}
