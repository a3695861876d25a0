// Renders the SVG chart to PNG in headless Chromium, to check that it draws (optional: needs
// /usr/bin/chromium or CHROMIUM_PATH; playwright-core drives it).
import { existsSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";

export async function renderSvgToPng(svgPath: string, pngPath: string): Promise<string | null> {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) return `no Chromium at ${executablePath} (set CHROMIUM_PATH); PNG not written`;
  const svg = readFileSync(svgPath, "utf8");
  const size = /width="(\d+)" height="(\d+)"/.exec(svg);
  const browser = await chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: Number(size?.[1] ?? 900), height: Number(size?.[2] ?? 540) } });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.screenshot({ path: pngPath, fullPage: true });
    return null;
  } finally {
    await browser.close();
  }
}
