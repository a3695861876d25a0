// Attachment URLs carry a short-lived HMAC signature so an <img> tag can load them without an
// Authorization header (API.md, "Attachments"). Every node derives the same key from the
// configured secret, so a URL made on one node is honoured by all.
import { createHmac, timingSafeEqual } from "node:crypto";

export interface UrlSigner {
  sign(path: string, now?: number): string;
  verify(path: string, expires: string | undefined, signature: string | undefined, now?: number): boolean;
}

/**
 * `stepSeconds` rounds the expiry up to a multiple of it, so the same attachment gets the same URL
 * for that long and the browser's cache (keyed by URL) can serve it again; a URL then stays valid
 * between `ttlSeconds` and `ttlSeconds + stepSeconds`. The default 1 keeps expiry exact.
 */
export function createUrlSigner(secret: string, ttlSeconds: number, opts: { stepSeconds?: number } = {}): UrlSigner {
  const step = Math.max(1, Math.floor(opts.stepSeconds ?? 1));
  const key = createHmac("sha256", "marketchat:attachment-urls").update(secret).digest();
  const mac = (path: string, expires: number) => createHmac("sha256", key).update(`${path}\n${expires}`).digest("base64url");
  return {
    sign(path, now = Date.now()) {
      const expires = Math.ceil((Math.floor(now / 1000) + ttlSeconds) / step) * step;
      return `${path}?expires=${expires}&sig=${mac(path, expires)}`;
    },
    verify(path, expires, signature, now = Date.now()) {
      if (!expires || !signature || !/^\d{1,12}$/.test(expires)) return false;
      const exp = Number(expires);
      if (exp < now / 1000) return false;
      const expected = Buffer.from(mac(path, exp));
      const given = Buffer.from(signature);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}
