// End to end in a real browser: Debian's Chromium (driven by playwright-core) opens the /demo page
// through the real nginx in front of two real nodes, as the demo buyer in one browser context and
// the demo seller in another, each pinned to a different node by its socket affinity key. What a
// person sees is checked on the page: the conversation, text both ways, an image upload's progress
// bar and then its thumbnail, typing that shows and stops, unread badges, "seen" (also after a
// reload), and, after the seller's node is SIGKILLed, every message once and in order on both
// pages. Screenshots go to SCREENSHOT_DIR (default: a temporary directory; the README's come from
// `SCREENSHOT_DIR=docs npx vitest run test/e2e-demo.test.ts`).
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "./support/app.js";
import { startNode, type NodeProcess } from "./support/cluster.js";
import { startNginx, type Nginx } from "./support/nginx.js";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const SCREENSHOTS = resolve(process.env.SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), "mc-e2e-")));
const WAIT = { timeout: 20_000 };

let env: TestEnv | undefined;
let nodes: NodeProcess[] = [];
let nginx: Nginx | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  env = await createTestEnv();
  nodes = await Promise.all(["e2e-a", "e2e-b"].map((name) => startNode(env!, name, { TRUST_PROXY: "true" }, { startTimeoutMs: 55_000 })));
  nginx = await startNginx([nodes[0]!.port, nodes[1]!.port]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-extensions", "--mute-audio"],
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await nginx?.stop();
  await Promise.all(nodes.map((n) => n.kill()));
  await env?.close();
});

/** An affinity key that nginx routes to the node on `port` (asked through nginx itself, as the page will be). */
async function affinityFor(port: number, taken: string[]): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const key = `e2e-${port}-${i}`;
    if (taken.includes(key)) continue;
    await fetch(`${nginx!.url}/socket.io/?EIO=4&transport=polling&affinity=${key}`).then((r) => r.arrayBuffer());
    const line = nginx!.accessLog().split("\n").find((l) => l.includes(`key="${key}"`));
    if (line?.includes(`up=127.0.0.1:${port}`)) return key;
  }
  throw new Error(`no affinity key routes to ${port}`);
}

/** A browser context whose page uses this socket affinity key (the page keeps it in sessionStorage). */
async function contextWithAffinity(key: string): Promise<BrowserContext> {
  const context = await browser!.newContext({ viewport: { width: 1100, height: 720 } });
  await context.addInitScript((k) => sessionStorage.setItem("marketchat-demo-affinity", k), key);
  return context;
}

async function signIn(page: Page, as: "buyer" | "seller"): Promise<void> {
  await page.goto(`${nginx!.url}/demo`);
  await page.getByRole("button", { name: `Sign in as the demo ${as}` }).click();
  await page.getByTestId("connection").filter({ hasText: "connected" }).waitFor(WAIT);
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel("Message");
  await box.fill(text);
  await box.press("Enter");
  await page.getByTestId("message").filter({ hasText: text }).waitFor(WAIT);
}

/** The stored messages a page shows: [seq, text] in screen order. */
function shown(page: Page): Promise<[number, string][]> {
  return page.$$eval("[data-testid=message]", (els) => els.map((el) => [Number(el.getAttribute("data-seq")), (el.querySelector(".text")?.textContent ?? "").trim()] as [number, string]));
}

/** A picture of a bike, with grain so the PNG weighs about a megabyte (the upload takes a moment). */
async function bikePhoto(path: string): Promise<void> {
  const drawing = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="900" height="600">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#9cc9f5"/><stop offset="1" stop-color="#e8f1fa"/></linearGradient></defs>
    <rect width="900" height="600" fill="url(#sky)" opacity="0.85"/><rect y="430" width="900" height="170" fill="#8c9a6b" opacity="0.9"/>
    <g fill="none" stroke="#1d2329" stroke-width="14"><circle cx="260" cy="400" r="110"/><circle cx="640" cy="400" r="110"/></g>
    <g fill="none" stroke="#c0392b" stroke-width="16" stroke-linejoin="round" stroke-linecap="round">
      <path d="M260 400 L390 250 L590 250 L640 400 M390 250 L460 400 L590 250 M460 400 L260 400"/><path d="M590 250 L570 190 L620 180"/><path d="M390 250 L370 210 M340 205 L410 205"/>
    </g></svg>`);
  await sharp({ create: { width: 900, height: 600, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma: 40 } } })
    .composite([{ input: drawing }])
    .png()
    .toFile(path);
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

// On a failure, what each page showed (in SCREENSHOT_DIR, named in the error output).
let pages: Record<string, Page> = {};
afterEach(async (context) => {
  if (context.task.result?.state !== "fail") return;
  for (const [name, page] of Object.entries(pages)) {
    await shot(page, `failed-${name}`).catch(() => undefined);
    process.stderr.write(`screenshot of the ${name}'s page: ${join(SCREENSHOTS, `failed-${name}.png`)}\n`);
  }
});

describe("the /demo page in Chromium, two nodes behind nginx", () => {
  it("chats both ways with uploads, typing, unread badges and seen marks, and loses nothing when the seller's node dies", async () => {
    // The seller on node a (the one killed below), the buyer on node b.
    const sellerKey = await affinityFor(nodes[0]!.port, []);
    const buyerKey = await affinityFor(nodes[1]!.port, [sellerKey]);
    const buyer = await (await contextWithAffinity(buyerKey)).newPage();
    const seller = await (await contextWithAffinity(sellerKey)).newPage();
    pages = { buyer, seller };

    await signIn(buyer, "buyer");
    await shot(buyer, "demo-sign-in-buyer");
    await buyer.getByRole("button", { name: /vintage road bike/ }).click();
    await send(buyer, "Hi! Is the bike still available?");

    // The seller sees the conversation with its unread badge, which counts up.
    await signIn(seller, "seller");
    const conversation = seller.getByTestId("conversation").first();
    await conversation.getByTestId("unread-badge").filter({ hasText: /^1$/ }).waitFor(WAIT);
    await send(buyer, "Could you send a photo of the frame?");
    await conversation.getByTestId("unread-badge").filter({ hasText: /^2$/ }).waitFor(WAIT);
    await seller.getByTestId("unread-total").filter({ hasText: /^2$/ }).waitFor(WAIT);
    await shot(seller, "demo-seller-unread");

    // Opening it reads it: the badge goes, the buyer sees "Seen" under their last message.
    await conversation.click();
    await conversation.getByTestId("unread-badge").waitFor({ state: "detached", ...WAIT });
    await buyer.getByTestId("message").last().getByTestId("seen").waitFor(WAIT);

    // Typing shows on the buyer's page while the seller types, and stops when they pause.
    await seller.getByLabel("Message").pressSequentially("Yes, it is", { delay: 40 });
    await buyer.getByTestId("typing").filter({ hasText: "Demo Seller is typing" }).waitFor(WAIT);
    await shot(buyer, "demo-buyer-typing");
    await buyer.getByTestId("typing").waitFor({ state: "detached", ...WAIT });
    await seller.getByLabel("Message").press("Enter");
    await buyer.getByTestId("message").filter({ hasText: "Yes, it is" }).waitFor(WAIT);

    // An image from the seller: a progress bar while it uploads (upload throttled, so a person
    // would see it), then the thumbnail on both pages.
    const photo = join(mkdtempSync(join(tmpdir(), "mc-e2e-photo-")), "frame.png");
    await bikePhoto(photo);
    const cdp = await seller.context().newCDPSession(seller);
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 400 * 1024 });
    await seller.getByTestId("file-input").setInputFiles(photo);
    const progress = seller.getByTestId("upload-progress");
    await progress.waitFor(WAIT);
    const percents = new Set<number>();
    while (await progress.isVisible()) {
      const value = await progress.getAttribute("aria-valuenow").catch(() => null);
      if (value !== null) percents.add(Number(value));
      await seller.waitForTimeout(100);
    }
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    expect([...percents].some((p) => p > 0 && p < 100)).toBe(true);
    for (const page of [seller, buyer]) {
      const thumbnail = page.getByTestId("thumbnail").last();
      await thumbnail.waitFor(WAIT);
      await expect.poll(() => thumbnail.evaluate((el) => {
        // Loaded, not broken (the root tsconfig has no DOM types: the shape of an <img>).
        const img = el as unknown as { complete: boolean; naturalWidth: number };
        return img.complete && img.naturalWidth > 0;
      }), WAIT).toBe(true);
    }
    await shot(buyer, "demo-buyer");
    await shot(seller, "demo-seller");

    // "Seen" comes from the conversation's read pointers after a reload too.
    await send(buyer, "Looks great, thanks!");
    await buyer.getByTestId("message").last().getByTestId("seen").waitFor(WAIT);
    await buyer.reload();
    await buyer.getByTestId("conversation").first().click();
    await buyer.getByTestId("message").last().getByTestId("seen").waitFor(WAIT);

    // The seller's node dies. Both keep writing; the seller's page reconnects through nginx to the
    // other node, its queued message goes out once, and both pages end with the same messages.
    await nodes[0]!.kill();
    await seller.getByTestId("connection").filter({ hasNotText: /^connected$/ }).waitFor(WAIT);
    await send(buyer, "Are you still there?");
    await seller.getByLabel("Message").fill("Sorry, my connection dropped");
    await seller.getByLabel("Message").press("Enter");
    await send(buyer, "Can I pick it up tomorrow?");
    await seller.getByTestId("connection").filter({ hasText: /^connected$/ }).waitFor({ timeout: 30_000 });
    await seller.getByTestId("message").filter({ hasText: "Sorry, my connection dropped" }).waitFor(WAIT);
    await buyer.getByTestId("message").filter({ hasText: "Sorry, my connection dropped" }).waitFor(WAIT);
    await seller.getByTestId("message").filter({ hasText: "Can I pick it up tomorrow?" }).waitFor(WAIT);
    await expect.poll(() => seller.getByTestId("outgoing").count(), WAIT).toBe(0);

    const expected = [
      "Hi! Is the bike still available?",
      "Could you send a photo of the frame?",
      "Yes, it is",
      "",
      "Looks great, thanks!",
    ];
    for (const page of [buyer, seller]) {
      const messages = await shown(page);
      expect(messages.map(([seq]) => seq)).toEqual(messages.map((_, i) => i + 1));
      expect(messages.slice(0, 5).map(([, text]) => text)).toEqual(expected);
      // The three written during the outage, once each (their order across the two senders is the service's).
      expect(messages.slice(5).map(([, text]) => text).sort()).toEqual(["Are you still there?", "Can I pick it up tomorrow?", "Sorry, my connection dropped"].sort());
    }
    expect(await shown(seller)).toEqual(await shown(buyer));
    await shot(seller, "demo-seller-after-failover");

    // An offer from the buyer (the modal proposes 90% of the asking price), accepted by the
    // seller: both pages show it accepted.
    await buyer.getByRole("button", { name: "Make offer" }).click();
    const dialog = buyer.getByRole("dialog", { name: "Make an offer" });
    await dialog.getByRole("textbox").fill("225");
    await dialog.getByRole("button", { name: "Send offer" }).click();
    await dialog.waitFor({ state: "detached", ...WAIT });
    const offerOnSellerPage = seller.getByTestId("message").filter({ has: seller.locator(".offer-card") }).last();
    await offerOnSellerPage.getByText("€225.00").waitFor(WAIT);
    await offerOnSellerPage.getByRole("button", { name: "Accept" }).click();
    for (const page of [buyer, seller]) {
      await page.locator(".offer-card .offer-status").last().filter({ hasText: "accepted" }).waitFor(WAIT);
    }

    // A reaction from the seller on the buyer's message: both pages show it with its count.
    const question = seller.getByTestId("message").filter({ hasText: "Can I pick it up tomorrow?" });
    await question.hover();
    await question.locator('button[title="React 👍"]').click();
    for (const page of [buyer, seller]) {
      const reacted = page.getByTestId("message").filter({ hasText: "Can I pick it up tomorrow?" });
      await reacted.locator(".reactions .reaction").filter({ hasText: "👍 1" }).waitFor(WAIT);
    }
    await shot(buyer, "demo-buyer-offer-reaction");
  }, 300_000);
});
