import { createHash } from 'node:crypto';
import type { JsonValue } from '../domain/module.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';

export type { JsonValue };

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
 * Canonical JSON: object keys in ascending code-unit order, no whitespace. Two snapshots of the same
 * state then have byte-identical text whatever order their properties were created in.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`canonical JSON cannot carry ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const v = value[key];
    // An undefined property would vanish from JSON.stringify; skipping it keeps the two in agreement.
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** sha256 hex of the canonical JSON of a snapshot: what checkpoints and replay compare. */
export function stateHash(json: JsonValue): string {
  return createHash('sha256').update(canonicalJson(json), 'utf8').digest('hex');
}

/** The hash of a projection's state, through its snapshot form. */
export function projectionStateHash<S>(projection: Projection<S>, state: S): string {
  return stateHash(projection.toSnapshot(state));
}
