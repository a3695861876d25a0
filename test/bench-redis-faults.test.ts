// The arithmetic and command line of `npm run bench:redis-faults` (bench/redis-faults.ts): what
// counts as an order break or a live duplicate, the rates over windows, the pause and recovery
// times, and the strict options. The benchmark's figures themselves are never asserted.
import { describe, expect, it } from "vitest";
import { OptionError } from "../bench/cli/options.js";
import { parseRedisFaultOptions } from "../bench/cli/redis-faults-options.js";
import {
  LiveOrder,
  counterRate,
  firstAtOrAfter,
  firstTimeAtRate,
  longestGap,
  metricValue,
  percentile,
  ratePerSecond,
  sustainedRateFrom,
} from "../bench/report/redis-faults-figures.js";

describe("LiveOrder", () => {
  it("counts a late arrival (N after N+1) as an order break and a repeat as a duplicate", () => {
    const live = new LiveOrder();
    for (const [seq, at] of [[1, 10], [2, 20], [4, 30], [3, 40], [4, 50], [5, 60]] as const) live.receive(seq, at);
    expect(live.orderBreaks).toBe(1);
    expect(live.firstBreakAt).toBe(40);
    expect(live.duplicates).toBe(1);
    expect(live.missing([1, 2, 3, 4, 5, 6])).toEqual([6]);
  });

  it("counts a gap that is never filled as missing, not as a break", () => {
    const live = new LiveOrder();
    [1, 3, 4].forEach((seq, i) => live.receive(seq, i));
    expect(live.orderBreaks).toBe(0);
    expect(live.duplicates).toBe(0);
    expect(live.missing([1, 2, 3, 4])).toEqual([2]);
  });

  it("counts every late arrival after a jump ahead", () => {
    const live = new LiveOrder();
    [1, 5, 2, 3, 4].forEach((seq, i) => live.receive(seq, i));
    expect(live.orderBreaks).toBe(3);
  });
});

describe("rates and times", () => {
  it("rates events in a half-open window, per second", () => {
    expect(ratePerSecond([0, 100, 999, 1000, 1500], 0, 1000)).toBe(3);
    expect(ratePerSecond([0, 100, 999, 1000, 1500], 0, 2000)).toBe(2.5);
    expect(ratePerSecond([1], 5, 5)).toBeNull();
  });

  it("rates a counter from the first to the last sample inside the window", () => {
    const samples = [
      { t: 0, value: 0 },
      { t: 500, value: 100 },
      { t: 1500, value: 300 },
      { t: 2500, value: 1300 },
    ];
    expect(counterRate(samples, 400, 1600)).toBe(200);
    expect(counterRate(samples, 400, 2600)).toBe(600);
    expect(counterRate(samples, 400, 600)).toBeNull();
  });

  it("finds the longest pause, including before the first and after the last event", () => {
    expect(longestGap([10, 20, 500, 510], 0, 600)).toEqual({ ms: 480, startedAt: 20 });
    expect(longestGap([10, 20], 0, 1000)).toEqual({ ms: 980, startedAt: 20 });
    expect(longestGap([], 100, 300)).toEqual({ ms: 200, startedAt: 100 });
    expect(longestGap([50, 900, 1000], 100, 950)).toEqual({ ms: 800, startedAt: 100 });
  });

  it("finds the first event after a time and the first time the rate is reached again", () => {
    const times = [0, 10, 20, 1000, 2000, 2100, 2200, 2300, 2400];
    expect(firstAtOrAfter(times, 1500)).toBe(2000);
    expect(firstAtOrAfter(times, 3000)).toBeNull();
    // 4 per second: reached once 4 acks fall in one second, after `from` only.
    expect(firstTimeAtRate(times, 500, 4)).toBe(2300);
    expect(firstTimeAtRate(times, 0, 3)).toBe(20);
    expect(firstTimeAtRate(times, 0, 10)).toBeNull();
  });

  it("finds the second from which the rate held until the end", () => {
    // Buckets of [0,1000), [1000,2000), [2000,3000): 3, 1, 3 events.
    const times = [0, 10, 20, 1500, 2000, 2100, 2200, 3500];
    expect(sustainedRateFrom(times, 0, 3000, 3)).toBe(2000);
    expect(sustainedRateFrom(times, 0, 3000, 1)).toBe(0);
    expect(sustainedRateFrom(times, 0, 3000, 4)).toBeNull();
    expect(sustainedRateFrom(times, 0, 999, 1)).toBeNull();
  });

  it("takes nearest-rank percentiles", () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 99)).toBe(5);
    expect(percentile([], 99)).toBeNull();
  });

  it("sums a metric over its label sets and tells an absent one apart", () => {
    const text = [
      "# HELP marketchat_db_statements_total x",
      'marketchat_db_statements_total{node="a"} 120',
      'marketchat_db_statements_total_other{node="a"} 7',
      'nodejs_heap_size_used_bytes{node="a"} 4.5e+7',
    ].join("\n");
    expect(metricValue(text, "marketchat_db_statements_total")).toBe(120);
    expect(metricValue(text, "nodejs_heap_size_used_bytes")).toBe(45_000_000);
    expect(metricValue(text, "process_heap_bytes")).toBeNull();
  });

  it("keeps only the label sets asked for", () => {
    const text = [
      'marketchat_delivery_order_total{outcome="held",node="a"} 3',
      'marketchat_delivery_order_total{outcome="fetched",node="a"} 1',
      'marketchat_delivery_order_total{outcome="held",node="b"} 2',
    ].join("\n");
    expect(metricValue(text, "marketchat_delivery_order_total", 'outcome="held"')).toBe(5);
    expect(metricValue(text, "marketchat_delivery_order_total", 'outcome="dropped"')).toBeNull();
  });
});

describe("options", () => {
  it("defaults to both faults at 20–30 msg/s over 20 conversations", () => {
    const o = parseRedisFaultOptions([], "/repo");
    expect(o).toMatchObject({ faults: ["stall", "kill"], conversations: 20, rate: { min: 20, max: 30 }, ackTimeoutMs: 2_000, outDir: "/repo/bench/results" });
    expect(parseRedisFaultOptions(["--fault", "kill", "--rate", "25"], "/repo")).toMatchObject({ faults: ["kill"], rate: { min: 25, max: 25 } });
  });

  it("refuses unknown flags, missing values and values out of range", () => {
    for (const argv of [["--faults", "kill"], ["--fault"], ["--fault", "crash"], ["--rate", "30-20"], ["--conversations", "2.5"], ["--pool", "0"], ["stall"]]) {
      expect(() => parseRedisFaultOptions(argv, "/repo"), argv.join(" ")).toThrow(OptionError);
    }
  });
});
