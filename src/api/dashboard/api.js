/* global fetch */
// The guardian's own API, as the dashboard reads it: JSON routes and the Prometheus text of /metrics.

export class HttpError extends Error {
  constructor(path, status, body) {
    super(`${path}: HTTP ${status}${body?.message ? ` (${body.message})` : ''}`);
    this.name = 'HttpError';
    this.status = status;
  }
}

export async function get(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new HttpError(path, response.status, await response.json().catch(() => undefined));
  return response.json();
}

/**
 * The samples of a Prometheus text exposition: name -> [{ labels, value }]. Only what the
 * dashboard reads is needed, so comments and timestamps are skipped.
 */
export function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const [, name, labelText, value] = match;
    const labels = {};
    for (const [, key, raw] of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = raw.replace(/\\(.)/g, '$1');
    if (!samples.has(name)) samples.set(name, []);
    samples.get(name).push({ labels, value: Number(value) });
  }
  return samples;
}

export async function getMetrics() {
  const response = await fetch('/metrics');
  if (!response.ok) throw new HttpError('/metrics', response.status);
  return parseMetrics(await response.text());
}

/** A histogram's cumulative buckets as [{ le, count }] ascending, and its total count. */
export function histogram(samples, name) {
  const buckets = (samples.get(`${name}_bucket`) ?? [])
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.le - b.le);
  const count = samples.get(`${name}_count`)?.[0]?.value ?? 0;
  return { buckets, count };
}

/** The difference of two cumulative histograms (what happened between two reads). */
export function histogramSince(now, before) {
  if (before === undefined) return now;
  const previous = new Map(before.buckets.map((b) => [b.le, b.count]));
  return { buckets: now.buckets.map((b) => ({ le: b.le, count: b.count - (previous.get(b.le) ?? 0) })), count: now.count - before.count };
}

/**
 * The q-quantile of a histogram, interpolated within its bucket as Prometheus's histogram_quantile
 * does; undefined with no observations. A quantile in the +Inf bucket is the highest finite bound.
 */
export function quantile(q, { buckets, count }) {
  if (count <= 0 || buckets.length === 0) return undefined;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lower;
      const inBucket = bucket.count - below;
      return inBucket <= 0 ? bucket.le : lower + ((bucket.le - lower) * (rank - below)) / inBucket;
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return lower;
}

/** One sample's value (the first, or the one whose labels include `labels`). */
export function value(samples, name, labels = {}) {
  const found = (samples.get(name) ?? []).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found?.value;
}
