// What the benchmark reads about processes and the machine from /proc (Linux): resident memory,
// CPU time, open-file limits, and which local TCP ports a process uses to reach Redis (to count
// only our own nodes' commands on a Redis server that other clients share).
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { execFileSync } from "node:child_process";
import os from "node:os";

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch (err) {
      process.stderr.write(`getconf CLK_TCK failed (${(err as Error).message}); assuming 100\n`);
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Resident set size in bytes, or null once the process is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds used so far by a process. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU use between two samples, in "cores" (1.0 = one core fully busy). */
export class CpuMeter {
  private readonly startedAt = performance.now();
  private readonly procStart: Map<number, number | null>;
  private readonly machineStart = machineCpu();

  constructor(private readonly pids: Record<string, number>) {
    this.procStart = new Map(Object.values(pids).map((pid) => [pid, cpuSeconds(pid)]));
  }

  read(): { processes: Record<string, number | null>; machineBusyPct: number } {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const processes: Record<string, number | null> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const before = this.procStart.get(pid);
      const after = cpuSeconds(pid);
      processes[name] = before == null || after == null || seconds <= 0 ? null : round2((after - before) / seconds);
    }
    const m = machineCpu();
    const total = m.total - this.machineStart.total;
    return { processes, machineBusyPct: total > 0 ? Math.round(((m.busy - this.machineStart.busy) / total) * 100) : 0 };
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Soft and hard "Max open files" of this process (children inherit them). */
export function openFileLimit(): { soft: number; hard: number } {
  const limits = readFileSync("/proc/self/limits", "utf8");
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const parse = (s: string | undefined) => (s === undefined || s === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(s));
  return { soft: parse(match?.[1]), hard: parse(match?.[2]) };
}

/** Local ports of the TCP connections that `pid` holds to `remotePort` (e.g. 6379). */
export function tcpPortsTo(pid: number, remotePort: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    } catch {
      // The descriptor closed between readdir and readlink: not one we are looking for.
      continue;
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue; // no IPv6 table on this kernel
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = cols[1]!;
      const remote = cols[2]!;
      const inode = cols[9]!;
      if (!inodes.has(inode)) continue;
      if (parseInt(remote.split(":")[1]!, 16) !== remotePort) continue;
      ports.add(parseInt(local.split(":")[1]!, 16));
    }
  }
  return ports;
}

export function machineDescription(): { cpu: string; cores: number; memoryGb: number; os: string; node: string; loadAverage: number } {
  const cpus = os.cpus();
  return {
    loadAverage: Math.round(os.loadavg()[0]! * 100) / 100,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}
