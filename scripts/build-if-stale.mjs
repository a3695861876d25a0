// `npm start`'s prestart: compiles (npm run build) only when dist/ is missing or older than what it
// is built from, so a start with nothing changed takes about 2 s instead of a full tsc build.
// Plain Node, no dependencies: it runs before anything else is known to be installed or built.
import { execSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const OUTPUT = "dist/main.js";
// What the build reads: the sources (the generated Prisma client included), the schema it is
// generated from, and the compiler settings and versions.
const INPUTS = ["src", "prisma/schema.prisma", "tsconfig.json", "tsconfig.build.json", "package-lock.json"];

function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

const built = existsSync(OUTPUT) ? statSync(OUTPUT).mtimeMs : 0;
const changed = Math.max(...INPUTS.map(newest));
if (built === 0 || changed > built) {
  process.stderr.write(built === 0 ? "dist/ is missing: building\n" : "sources changed since the last build: building\n");
  execSync("npm run build", { stdio: "inherit" });
}
