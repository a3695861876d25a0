// Small helpers of the one-off benchmark scripts (bench/*.ts beside the main harness): latency
// figures from a plain list of samples, and pushing marketplace data as the marketplace does.
import type { NodeProcess } from "../../test/support/cluster.js";
import { serviceToken } from "../../test/support/tokens.js";

export interface LatencyFigures {
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Nearest-rank percentiles of `samples` (milliseconds), rounded to 0.01 ms. */
export function summarizeSamples(samples: number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    samples: sorted.length,
    p50Ms: round(at(0.5)),
    p90Ms: round(at(0.9)),
    p99Ms: round(at(0.99)),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    maxMs: round(sorted[sorted.length - 1]!),
  };
}

export function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** A PUT on the internal API with a service token; throws on anything but 2xx. */
export async function putAsService(node: NodeProcess, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${node.url}${path}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${serviceToken()}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}
