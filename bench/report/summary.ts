// The report of a bench run: ratios to the references measured in the same run, targets, the text
// table printed on stdout and the latency chart.
import { formatTable } from "./table.js";
import { renderLineChart, type ChartSeries } from "./svg-chart.js";
import type { ProfileSummary } from "./cpu-profile.js";
import type { Options } from "../cli/options.js";
import type { machineDescription } from "../support/proc-stats.js";
import { KB, round, type DatabaseResult, type RunResults, type SystemResult } from "./results.js";
import { fmtBound, type StepServerStats } from "../support/server-counters.js";
import type { ThroughputStep } from "../scenarios/throughput.js";

// ---------------------------------------------------------------------------------------------
// Summary, ratios and targets
// ---------------------------------------------------------------------------------------------

export interface Target {
  name: string;
  goal: string;
  value: string;
  met: boolean | null;
}

export interface Summary {
  ratios: Record<string, number | null>;
  /** p99 send→deliver of the service and the naive baseline at each offered rate both ran. */
  p99ByRate: { offered: number; service: number; naive: number; ratio: number | null; bothKeptUp: boolean }[];
  targets: Target[];
  integrityOk: boolean;
  notes: string[];
  /** The highest offered rate at which both the service and the baseline kept up. */
  commonRate: number | null;
}

export function buildSummary(r: Omit<RunResults, "upload">, opts: Options): Summary {
  const notes: string[] = [];
  const s = r.service!;
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? round(a / b) : null);
  const saturated = (x: SystemResult | null) => x?.steps.some((st) => st.saturated) ?? false;
  for (const x of [r.service, r.transport, r.naive]) {
    if (x && !saturated(x)) notes.push(`${x.label} never saturated (stopped: ${x.stoppedBecause}): its max throughput is a lower bound`);
  }
  let commonRate: number | null = null;
  let p99Ratio: number | null = null;
  const p99ByRate: Summary["p99ByRate"] = [];
  if (r.naive) {
    for (const st of s.steps) {
      const base = r.naive.steps.find((b) => b.offered === st.offered);
      if (!base) continue;
      const bothKeptUp = !st.saturated && !base.saturated;
      p99ByRate.push({ offered: st.offered, service: st.deliver.p99, naive: base.deliver.p99, ratio: ratio(st.deliver.p99, base.deliver.p99), bothKeptUp });
      if (bothKeptUp) {
        commonRate = st.offered;
        p99Ratio = ratio(st.deliver.p99, base.deliver.p99);
      }
    }
  }
  const batched = databaseMeasured(r.databaseBatched);
  const ratios = {
    throughputVsNaive: ratio(s.maxDeliveredPerSec, r.naive?.maxDeliveredPerSec),
    throughputVsTransport: ratio(s.maxDeliveredPerSec, r.transport?.maxDeliveredPerSec),
    throughputVsDatabase: ratio(s.maxDeliveredPerSec, r.database?.perSec),
    throughputVsDatabaseBatched: ratio(s.maxDeliveredPerSec, batched?.perSec),
    p99DeliverVsNaiveAtCommonLoad: p99Ratio,
  };
  const integrity = s.integrity!;
  const hot = r.hot?.integrity;
  const clean = (i: { lost: number; duplicated: number; outOfOrder: number }) => i.lost === 0 && i.duplicated === 0 && i.outOfOrder === 0;
  // The hot conversation's deliveries are the service's too: a loss there fails the run as well.
  const integrityOk = clean(integrity) && (!hot || clean(hot));
  // Statements per message where the service was busiest: the last step of its ladder.
  const lastStep = s.steps.at(-1);
  const sqlAtTop = lastStep?.server?.statementsPerMessage ?? null;
  // RSS grows late while the heap reuses pages freed earlier; the largest of the three readings
  // (RSS over baseline, RSS between the first and last step, heap + external) is the honest one.
  const last = r.connections?.steps.at(-1);
  const readings = [r.connections?.rssPerSocketBytes, r.connections?.marginalPerSocketBytes, last?.heapPerSocketBytes].filter(
    (v): v is number => typeof v === "number",
  );
  const perSocket = readings.length > 0 ? Math.max(...readings) : null;
  const met = (v: number | null, ok: (v: number) => boolean) => (v === null ? null : ok(v));
  const targets: Target[] = [
    { name: "throughput vs naive baseline", goal: "≥ 1.0×", value: fmtRatio(ratios.throughputVsNaive), met: met(ratios.throughputVsNaive, (v) => v >= 1) },
    { name: "throughput vs transport ceiling", goal: "≥ 0.50×", value: fmtRatio(ratios.throughputVsTransport), met: met(ratios.throughputVsTransport, (v) => v >= 0.5) },
    {
      name: `p99 send→deliver vs naive${commonRate ? ` @ ${commonRate}/s` : ""}`,
      goal: "≤ 1.5×",
      value: fmtRatio(p99Ratio),
      met: met(p99Ratio, (v) => v <= 1.5),
    },
    {
      name: `RSS per idle socket${last ? ` (${last.sockets} sockets)` : ""}`,
      goal: "≤ 20 KB",
      value: perSocket === null ? "-" : `${(perSocket / KB).toFixed(1)} KB`,
      met: met(perSocket, (v) => v <= 20 * KB),
    },
    {
      name: `SQL statements per message${lastStep ? ` @ ${lastStep.offered}/s (last step)` : ""}`,
      goal: "≤ 0.5",
      value: sqlAtTop === null ? "-" : sqlAtTop.toFixed(2),
      met: met(sqlAtTop, (v) => v <= 0.5),
    },
    {
      name: "lost / duplicated / reordered deliveries",
      goal: "0",
      value: `${integrity.lost} / ${integrity.duplicated} / ${integrity.outOfOrder}`,
      met: clean(integrity),
    },
    ...(hot
      ? [
          {
            name: "hot conversation: lost / duplicated / reordered",
            goal: "0",
            value: `${hot.lost} / ${hot.duplicated} / ${hot.outOfOrder}`,
            met: clean(hot),
          },
        ]
      : []),
  ];
  if (r.databaseBatched && !batched) {
    notes.push(`batched database ceiling: ${whyNot(r.databaseBatched)}`);
  }
  if (opts.quick) notes.push("--quick: short steps and a short ladder; figures are a smoke test, not a measurement");
  return { ratios, p99ByRate, targets, integrityOk, notes, commonRate };
}

const fmtRatio = (v: number | null) => (v === null ? "-" : `${v.toFixed(2)}×`);

/** The batched ceiling when it ran, null when skipped (no appendBatch), failed or not asked for. */
export function databaseMeasured(d: RunResults["databaseBatched"]): DatabaseResult | null {
  return d && !("skipped" in d) && !("failed" in d) ? d : null;
}

/** Why the batched ceiling has no figure. */
function whyNot(d: NonNullable<RunResults["databaseBatched"]>): string {
  if ("skipped" in d) return `n/a — ${d.skipped}`;
  if ("failed" in d) return `failed — ${d.failed}`;
  return "measured";
}

/** Server-side columns of a step: SQL per message, batches, mean size, p50/p90/max bucket. */
function serverCells(server: StepServerStats | null): (string | number)[] {
  if (!server) return ["-", "-", "-", "-"];
  const b = server.batchSize;
  return [
    server.statementsPerMessage === null ? "n/a" : server.statementsPerMessage.toFixed(2),
    b ? b.batches : "n/a",
    b?.mean ?? (b ? "-" : "n/a"),
    b ? `${fmtBound(b.p50)}/${fmtBound(b.p90)}/${fmtBound(b.max)}` : "n/a",
  ];
}

const latencyCells = (st: ThroughputStep) => [fmtMs(st.deliver.p50), fmtMs(st.deliver.p95), fmtMs(st.deliver.p99)];
const fmtMs = (v: number) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

export function printReport(
  report: { command: string; mode: string; durationS: number; machine: ReturnType<typeof machineDescription> & { postgres: string; redis: string; fileLimit: { soft: number; hard: number } }; notes: string[] },
  summary: Summary,
  r: RunResults,
  profile: ProfileSummary | null,
): string {
  const out: string[] = [];
  const m = report.machine;
  out.push(
    `marketchat benchmark — ${report.command} (${report.mode}, ${report.durationS} s)`,
    `machine: ${m.cores} × ${m.cpu}, ${m.memoryGb} GB, ${m.os}, Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}, ulimit -n ${m.fileLimit.soft}`,
    "",
  );
  const systems = [r.service, r.transport, r.naive].filter((x): x is SystemResult => x !== null);
  out.push("Throughput and latency at stepped offered load (ms; deliver = send → message:new on the other participant's sockets;");
  out.push("CPU in cores, 1.00 = one core busy; a load generator near 1.00 means the generator, not the system, was the limit;");
  out.push("SQL/msg = statements the servers sent ÷ messages they stored during the step; batches = group-commit writes");
  out.push("(marketchat_send_batch_size), their mean size and the bucket bounds holding p50/p90/max; n/a = not exposed)");
  out.push(
    formatTable(
      ["system", "offered/s", "delivered/s", "ack p50", "ack p99", "deliver p50", "deliver p95", "deliver p99", "errors", "server CPU", "loadgen CPU", "machine CPU", "SQL/msg", "batches", "batch mean", "batch p50/p90/max", "saturated"],
      systems.flatMap((x) =>
        x.steps.map((st) => [
          x.label,
          st.offered,
          st.deliveredPerSec,
          fmtMs(st.ack.p50),
          fmtMs(st.ack.p99),
          fmtMs(st.deliver.p50),
          fmtMs(st.deliver.p95),
          fmtMs(st.deliver.p99),
          Object.values(st.errors).reduce((a, b) => a + b, 0),
          Object.values(st.cpu.processes).map((c) => (c === null ? "-" : c.toFixed(2))).join("+"),
          st.generator.map((g) => g.cpuCores.toFixed(2)).join("+"),
          `${st.cpu.machineBusyPct}%`,
          ...serverCells(st.server),
          st.saturated ? "yes" : "",
        ]),
      ),
    ),
    "",
  );
  out.push("Per system");
  const rows = systems.map((x) => [
    x.label,
    `${x.maxDeliveredPerSec}${x.steps.some((st) => st.saturated) ? "" : "+"}`,
    x.cost?.sqlStatementsPerMessage ?? "-",
    x.cost?.redisCommandsPerMessage ?? "-",
    x.cost ? Object.entries(x.cost.redisByCommand).map(([c, n]) => `${c}×${n}`).join(" ") || "none" : "-",
    x.integrity ? `${x.integrity.lost}/${x.integrity.duplicated}/${x.integrity.outOfOrder}` : "-",
  ]);
  if (r.database) rows.push(["database (SQL only)", `${r.database.perSec}`, r.database.statementsPerMessage, "-", "-", "-"]);
  if (r.databaseBatched) {
    const b = databaseMeasured(r.databaseBatched);
    rows.push(
      b
        ? [`database, batched (${b.batchSize}/appendBatch)`, `${b.perSec}`, b.statementsPerMessage, "-", "-", "-"]
        : ["database, batched (appendBatch)", "n/a", "n/a", "-", "-", "-"],
    );
  }
  out.push(formatTable(["system", "max msg/s", "SQL/msg", "Redis cmd/msg", "Redis commands", "lost/dup/reordered"], rows), "");
  if (r.database) {
    out.push(
      `Database ceiling: ${r.database.processes} processes × ${r.database.concurrency} concurrent senders (pool ${r.database.poolSize}), ` +
        `${r.database.stored} messages, p50 ${r.database.latency.p50} ms, p99 ${r.database.latency.p99} ms per message` +
        (r.database.errors ? `, ${r.database.errors} errors (${r.database.firstError})` : ""),
    );
    const b = databaseMeasured(r.databaseBatched);
    if (b) {
      out.push(
        `Batched database ceiling: ${b.processes} processes × ${b.concurrency} concurrent callers of appendBatch with ${b.batchSize} messages each, ` +
          `${b.stored} messages in ${b.calls} batches, p50 ${b.latency.p50} ms, p99 ${b.latency.p99} ms per batch` +
          (b.errors ? `, ${b.errors} failed batches (${b.firstError})` : ""),
      );
    } else if (r.databaseBatched) {
      out.push(`Batched database ceiling: ${whyNot(r.databaseBatched)}`);
    }
    out.push("");
  }
  if (r.hot) {
    const h = r.hot;
    const i = h.integrity;
    out.push(
      `Hot conversation: ${h.rate} msg/s into one conversation (buyer on ${h.placement.buyer}, seller on ${h.placement.seller}, alternating) ` +
        `for ${h.durationMs / 1000} s while the other ${r.service?.pairs ?? "?"} pairs send ${h.backgroundRate} msg/s`,
    );
    const rows: (string | number)[][] = [
      ["hot conversation", h.rate, h.hot.deliveredPerSec, fmtMs(h.hot.ack.p99), ...latencyCells(h.hot), Object.values(h.hot.errors).reduce((a, b) => a + b, 0), h.hot.unfinished],
    ];
    if (h.background) {
      rows.push(["the others", h.backgroundRate, h.background.deliveredPerSec, fmtMs(h.background.ack.p99), ...latencyCells(h.background), Object.values(h.background.errors).reduce((a, b) => a + b, 0), h.background.unfinished]);
    }
    out.push(formatTable(["traffic", "offered/s", "delivered/s", "ack p99", "deliver p50", "deliver p95", "deliver p99", "errors", "unfinished"], rows));
    const [sql, batches, mean, bounds] = serverCells(h.server);
    out.push(
      `servers over both: SQL/msg ${sql}, batches ${batches}, mean ${mean}, p50/p90/max ${bounds}; ` +
        `hot delivery check: ${i.messages} messages × ${i.sockets} sockets, lost ${i.lost}, duplicated ${i.duplicated}, out of order ${i.outOfOrder}` +
        (i.unanswered ? `, unanswered ${i.unanswered}` : "") +
        (i.disconnects ? `, ${i.disconnects} socket disconnects` : ""),
      "",
    );
  }
  if (r.connections) {
    const c = r.connections;
    out.push(`Idle connections (${c.label ?? "service"}, ${Object.keys(c.baselineRss).length} nodes; baseline RSS ${(Object.values(c.baselineRss).reduce<number>((a, b) => a + (b ?? 0), 0) / KB ** 2).toFixed(1)} MB)`);
    out.push(
      formatTable(
        ["sockets", "RSS total MB", "RSS/socket KB", "marginal KB", "heap/socket KB", "connects/s", "failed"],
        c.steps.map((st) => [
          st.sockets,
          (st.rssTotal / KB ** 2).toFixed(1),
          st.rssPerSocketBytes === null ? null : (st.rssPerSocketBytes / KB).toFixed(1),
          st.marginalPerSocketBytes === null ? null : (st.marginalPerSocketBytes / KB).toFixed(1),
          st.heapPerSocketBytes === null ? null : (st.heapPerSocketBytes / KB).toFixed(1),
          st.connectsPerSec,
          st.failed,
        ]),
      ),
    );
    if (c.limitedBy) out.push(`limited by ${c.limitedBy}`);
    out.push("");
  }
  out.push("Service as a ratio of each reference");
  out.push(
    formatTable(
      ["ratio", "value"],
      [
        ["throughput / naive baseline", fmtRatio(summary.ratios.throughputVsNaive ?? null)],
        ["throughput / transport ceiling", fmtRatio(summary.ratios.throughputVsTransport ?? null)],
        ["throughput / database ceiling", fmtRatio(summary.ratios.throughputVsDatabase ?? null)],
        ["throughput / batched database ceiling", r.databaseBatched && !databaseMeasured(r.databaseBatched) ? "n/a" : fmtRatio(summary.ratios.throughputVsDatabaseBatched ?? null)],
        [`p99 deliver / naive p99${summary.commonRate ? ` @ ${summary.commonRate}/s` : ""}`, fmtRatio(summary.ratios.p99DeliverVsNaiveAtCommonLoad ?? null)],
      ],
    ),
    "",
  );
  out.push("Targets (goals, not pass/fail — except delivery integrity)");
  out.push(formatTable(["target", "goal", "measured", "met"], summary.targets.map((t) => [t.name, t.goal, t.value, t.met === null ? "n/a" : t.met ? "yes" : "NO"])), "");
  const i = r.service?.integrity;
  if (i) out.push(`Delivery check (service): ${i.method}: ${i.messages} messages to ${i.sockets} sockets, lost ${i.lost}, duplicated ${i.duplicated}, out of order ${i.outOfOrder}${i.disconnects ? `, ${i.disconnects} socket disconnects` : ""}`, "");
  if (profile) {
    out.push(`CPU profile of node-1 (${profile.windowed ? "during the throughput ladder" : "whole run"}: ${profile.busyMs} ms busy, ${profile.idlePct}% idle) — top self time`);
    out.push(formatTable(["function", "where", "ms", "% busy"], profile.topFrames.slice(0, 12).map((f) => [f.name, f.where, f.ms, f.pct])));
    out.push("", "called from (heaviest caller chain, nearest first)");
    for (const f of profile.topFrames.slice(0, 5)) if (f.via) out.push(`  ${f.name}: ${f.via}`);
    out.push("", "by package / file");
    out.push(formatTable(["package", "ms", "% busy"], profile.byPackage.slice(0, 12).map((f) => [f.name, f.ms, f.pct])), "");
  }
  if (r.upload !== null && r.upload !== undefined) out.push(`Uploads: ${JSON.stringify(r.upload).slice(0, 400)}`, "");
  for (const n of report.notes) out.push(`note: ${n}`);
  return out.join("\n");
}

export function chart(
  r: Pick<RunResults, "service" | "transport" | "naive" | "database" | "databaseBatched">,
  opts: Options,
  machine: ReturnType<typeof machineDescription>,
): string {
  const colors: Record<string, string> = { service: "#1f6feb", transport: "#2da44e", naive: "#d1242f" };
  const series: ChartSeries[] = [];
  for (const x of [r.service, r.transport, r.naive]) {
    if (!x) continue;
    series.push({
      name: `${x.label} p99`,
      color: colors[x.label] ?? "#555",
      points: x.steps.map((st) => ({ x: st.offered, y: st.deliver.p99, hollow: st.saturated })),
    });
    series.push({
      name: `${x.label} p50`,
      color: colors[x.label] ?? "#555",
      dashed: true,
      points: x.steps.map((st) => ({ x: st.offered, y: st.deliver.p50, hollow: st.saturated })),
    });
  }
  return renderLineChart({
    title: "Send → deliver latency against offered load",
    subtitle: `${opts.nodes} nodes, ${opts.pairs} pairs, ${machine.cores} × ${machine.cpu} (${opts.quick ? "--quick" : "full run"}, ${new Date().toISOString().slice(0, 10)})`,
    xLabel: "offered load (messages/s, log scale)",
    yLabel: "latency (ms, log scale)",
    series,
    markers: [
      ...(r.database ? [{ x: r.database.perSec, label: `database ceiling ${r.database.perSec}/s`, color: "#8250df" }] : []),
      ...[databaseMeasured(r.databaseBatched)]
        .filter((b): b is DatabaseResult => b !== null)
        .map((b) => ({ x: b.perSec, label: `batched database ceiling ${b.perSec}/s`, color: "#bf8700" })),
    ],
  });
}
