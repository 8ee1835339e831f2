import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonicalJson.ts';
import type { JsonValue } from '../domain/module.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';

export type { JsonValue };
export { canonicalJson };

/**
 * A read model of the log (DESIGN.md, "Projections"): a pure left fold over the recorded events.
 * `version` names the shape of the state: bump it whenever `evolve` or the snapshot format changes,
 * so snapshots taken by older code are ignored and the projection is rebuilt from the log.
 */
export interface Projection<S> {
  readonly name: string;
  readonly version: number;
  readonly initial: S;
  /** Pure: never mutates `state`. Events come from the schema-checked log; unknown types are ignored. */
  evolve(state: S, event: RecordedEvent): S;
  /** Deterministic: equal states give equal JSON, whatever path (events or snapshots) built them. */
  toSnapshot(state: S): JsonValue;
  /** Inverse of toSnapshot; throws on malformed JSON (the caller then ignores that snapshot). */
  fromSnapshot(json: JsonValue): S;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProjection = Projection<any>;

/**
 * sha256 hex of the canonical JSON (sorted keys, no whitespace; the domain's `canonicalJson`) of a
 * snapshot: what checkpoints and replay compare. Built with JSON.stringify and a replacer that
 * re-creates each object with sorted keys, which gives the same text as `canonicalJson` (tested)
 * several times faster: snapshots of the ledger run to megabytes and replay hashes every one.
 */
export function stateHash(json: JsonValue): string {
  return createHash('sha256').update(fastCanonicalJson(json), 'utf8').digest('hex');
}

export function fastCanonicalJson(json: JsonValue): string {
  return JSON.stringify(json, sortKeys);
}

function sortKeys(this: unknown, _key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('canonical JSON has no NaN or Infinity');
    return value;
  }
  const record = value as Record<string, unknown>;
  // No prototype: a key named __proto__ stays an ordinary property, as it is in JSON.
  const sorted = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(record).sort()) sorted[key] = record[key];
  return sorted;
}

/** The hash of a projection's state, through its snapshot form. */
export function projectionStateHash<S>(projection: Projection<S>, state: S): string {
  return stateHash(projection.toSnapshot(state));
}
