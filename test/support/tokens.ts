import jwt from "jsonwebtoken";

export const TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789";

export function token(sub: string, claims: Record<string, unknown> = {}, secret = TEST_SECRET): string {
  return jwt.sign({ sub, ...claims }, secret, { algorithm: "HS256", expiresIn: "1h" });
}

export const serviceToken = () => token("marketplace-backend", { role: "service" });
export const adminToken = (sub = "admin-1") => token(sub, { role: "admin" });
