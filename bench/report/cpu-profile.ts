// Reads a V8 .cpuprofile (node --cpu-prof) and names where the time went: the top functions by
// self time and the same time grouped by package (node_modules/<pkg>, our src/ files, Node's
// internals, GC). Samples can be restricted to a window, so start-up does not drown the run.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FrameShare {
  name: string;
  where: string;
  ms: number;
  /** Share of the busy (non-idle) samples. */
  pct: number;
  /** The heaviest chain of callers (nearest first), to say what a native frame was doing. */
  via?: string;
}

const CALLER_DEPTH = 4;

export interface ProfileSummary {
  file: string;
  windowMs: number;
  busyMs: number;
  idlePct: number;
  windowed: boolean;
  topFrames: FrameShare[];
  byPackage: FrameShare[];
}

function location(url: string): string {
  if (!url) return "";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

function packageOf(where: string, name: string): string {
  if (name.startsWith("(")) return name;
  if (where.startsWith("node:") || where === "") return "node (internals, native)";
  const nm = where.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const parts = where.slice(nm + "node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (where.startsWith("src/")) return where;
  return where;
}

/**
 * `window` is [from, to] in microseconds of the monotonic clock (process.hrtime.bigint() / 1000
 * in any process on the machine, which is the clock V8 stamps samples with).
 */
export function summarizeProfile(file: string, window: [number, number] | null, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  // Node's own stream plumbing says little: the chain names the nearest library or src/ frames.
  const callers = (id: number): string => {
    const chain: string[] = [];
    let p = parentOf.get(id);
    while (p !== undefined && chain.length < CALLER_DEPTH) {
      const f = byId.get(p)!.callFrame;
      if (f.functionName && f.functionName !== "(root)" && f.url && !f.url.startsWith("node:")) {
        chain.push(`${f.functionName} (${location(f.url).replace(/^.*node_modules\//, "")}:${f.lineNumber + 1})`);
      }
      p = parentOf.get(p);
    }
    return chain.join(" < ");
  };
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  let inWindow = 0;
  const count = (useWindow: boolean) => {
    selfUs.clear();
    t = profile.startTime;
    inWindow = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      if (useWindow && window && (t < window[0] || t > window[1])) continue;
      const dt = profile.timeDeltas[i + 1] ?? 0;
      const id = profile.samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
      inWindow += 1;
    }
  };
  count(true);
  let windowed = window !== null;
  if (windowed && inWindow === 0) {
    count(false);
    windowed = false;
  }
  const frames = new Map<string, { name: string; where: string; us: number; via: Map<string, number> }>();
  const packages = new Map<string, number>();
  let idleUs = 0;
  let allUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName || "(anonymous)";
    allUs += us;
    if (name === "(idle)") {
      idleUs += us;
      continue;
    }
    const file = location(node.callFrame.url);
    const where = file ? `${file}:${node.callFrame.lineNumber + 1}` : "";
    const key = `${name}@${where}`;
    const f = frames.get(key) ?? { name, where, us: 0, via: new Map<string, number>() };
    f.us += us;
    const chain = callers(id);
    f.via.set(chain, (f.via.get(chain) ?? 0) + us);
    frames.set(key, f);
    const pkg = packageOf(file, name);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const busyUs = allUs - idleUs;
  const share = (us: number) => (busyUs > 0 ? Math.round((us / busyUs) * 1000) / 10 : 0);
  return {
    file,
    windowMs: Math.round(allUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    idlePct: allUs > 0 ? Math.round((idleUs / allUs) * 100) : 0,
    windowed,
    topFrames: [...frames.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({
        name: f.name,
        where: f.where,
        ms: Math.round(f.us / 1000),
        pct: share(f.us),
        via: [...f.via.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "",
      })),
    byPackage: [...packages.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, where: "", ms: Math.round(us / 1000), pct: share(us) })),
  };
}
