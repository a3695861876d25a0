// npm run size: what the client packages weigh in a browser app, minified and gzipped, as esbuild
// bundles them for the browser from their built dist/ (run after npm ci or npm run build:packages).
// The README's "Client packages" table comes from here.
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

interface Entry {
  what: string;
  contents: string;
  external: string[];
}

const entries: Entry[] = [
  { what: "@marketchat/client with socket.io-client", contents: 'export * from "@marketchat/client";', external: [] },
  { what: "@marketchat/client alone (socket.io-client external)", contents: 'export * from "@marketchat/client";', external: ["socket.io-client"] },
  { what: "@marketchat/react alone (react, client external)", contents: 'export * from "@marketchat/react";', external: ["react", "@marketchat/client"] },
  {
    what: "client + react hooks (react external)",
    contents: 'export * from "@marketchat/client"; export * from "@marketchat/react";',
    external: ["react"],
  },
];

const rows: string[] = ["| bundle | minified | minified + gzip |", "| --- | ---: | ---: |"];
for (const entry of entries) {
  const result = await build({
    stdin: { contents: entry.contents, resolveDir: process.cwd(), loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    external: entry.external,
    write: false,
    logLevel: "error",
  });
  const code = result.outputFiles[0]!.contents;
  rows.push(`| ${entry.what} | ${kb(code.length)} | ${kb(gzipSync(code, { level: 9 }).length)} |`);
}
process.stdout.write(`${rows.join("\n")}\n`);

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} kB`;
}
