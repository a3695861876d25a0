import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { expect, it } from "vitest";
import { startNode } from "./support/cluster.js";
import { serviceToken, token } from "./support/tokens.js";

it("uploads in embedded mode", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "mc-emb-up-"));
  const node = await startNode({ mode: "embedded", databaseUrl: "", redisPrefix: "x", dataDir, close: async () => undefined } as never, "emb", { UPLOAD_ORPHAN_TTL_MS: "1000", UPLOAD_SWEEP_INTERVAL_MS: "300" });
  try {
    const svc = { authorization: `Bearer ${serviceToken()}`, "content-type": "application/json" };
    for (const u of ["b", "s"]) await fetch(`${node.url}/api/internal/users/${u}`, { method: "PUT", headers: svc, body: JSON.stringify({ name: u }) });
    await fetch(`${node.url}/api/internal/listings/l1`, { method: "PUT", headers: svc, body: JSON.stringify({ sellerId: "s", title: "t" }) });
    const conv = await (await fetch(`${node.url}/api/conversations`, { method: "POST", headers: { authorization: `Bearer ${token("b")}`, "content-type": "application/json" }, body: JSON.stringify({ listingId: "l1" }) })).json();
    const form = new FormData();
    const img = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#c00" } }).jpeg().toBuffer();
    form.append("file", new Blob([img]), "a.jpg");
    form.append("file", new Blob([img]), "orphan.jpg");
    const up = await fetch(`${node.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${token("b")}` }, body: form });
    expect(up.status).toBe(201);
    const [a, o] = (await up.json()).attachments;
    const sent = await fetch(`${node.url}/api/conversations/${conv.id}/messages`, { method: "POST", headers: { authorization: `Bearer ${token("b")}`, "content-type": "application/json" }, body: JSON.stringify({ clientId: randomUUID(), attachmentIds: [a.id] }) });
    expect(sent.status).toBe(201);
    expect((await sent.json()).type).toBe("image");
    expect((await fetch(`${node.url}${a.url}`)).status).toBe(200);
    await expect.poll(async () => (await fetch(`${node.url}${o.url}`)).status, { timeout: 15000 }).toBe(404);
    expect((await fetch(`${node.url}${a.url}`)).status).toBe(200);
  } finally {
    await node.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}, 300_000);
