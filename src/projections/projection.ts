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

/** sha256 hex of the canonical JSON (sorted keys, no whitespace) of a snapshot: what checkpoints and replay compare. */
export function stateHash(json: JsonValue): string {
  return createHash('sha256').update(canonicalJson(json), 'utf8').digest('hex');
}

/** The hash of a projection's state, through its snapshot form. */
export function projectionStateHash<S>(projection: Projection<S>, state: S): string {
  return stateHash(projection.toSnapshot(state));
}
