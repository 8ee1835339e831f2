// @ts-check
/**
 * The optimistic-concurrency and idempotence rule every local adapter applies inside its write,
 * as one pure function so that sqlite and memory cannot drift apart. Plain JavaScript because the
 * sqlite writer thread (sqliteWriter.mjs; Node 20 workers cannot load .ts) applies it too.
 *
 * Idempotence, precisely: a batch of k events is a retry of an earlier append when the events
 * it would re-create are already there with the same ids, in order —
 *   - with an exact revision E (noStream is E = -1): the stream's events at revisions E+1 .. E+k;
 *   - with 'any' or 'streamExists': the stream's last k events (where a retry lands when nothing
 *     was appended to the stream in between).
 * A retry writes nothing and returns the original result: the revision and position of the last
 * of those k events. Events without a caller-given id never match (their ids are fresh UUIDs).
 */

/**
 * @param {import('./eventLog.ts').ExpectedRevision} expected
 * @param {number} current the stream's last revision, -1 when the stream has no events
 * @param {readonly (string | undefined)[]} ids the batch's caller-given ids (undefined where the caller gave none)
 * @param {(revision: number) => import('./appendDecision.ts').StoredEventRef | undefined} eventAt looks up the stream's event at a revision
 * @returns {import('./appendDecision.ts').AppendDecision}
 */
export function decideAppend(expected, current, ids, eventAt) {
  /** @type {import('./appendDecision.ts').AppendDecision} */
  const conflict = { kind: 'conflict', actual: current < 0 ? 'noStream' : current };
  const exact = expected === 'noStream' ? -1 : typeof expected === 'number' ? expected : undefined;
  if (exact !== undefined && current === exact) return { kind: 'write' };
  const retryFrom = exact !== undefined ? exact + 1 : current - ids.length + 1;
  if (ids.length > 0 && ids[0] !== undefined && retryFrom >= 0 && retryFrom + ids.length - 1 <= current) {
    const retry = matchRetry(retryFrom, ids, eventAt);
    if (retry !== undefined) return retry;
  }
  if (exact !== undefined) return conflict;
  if (expected === 'streamExists' && current < 0) return conflict;
  return { kind: 'write' };
}

/**
 * @param {number} from
 * @param {readonly (string | undefined)[]} ids
 * @param {(revision: number) => import('./appendDecision.ts').StoredEventRef | undefined} eventAt
 * @returns {import('./appendDecision.ts').AppendDecision | undefined}
 */
function matchRetry(from, ids, eventAt) {
  let last;
  for (let i = 0; i < ids.length; i++) {
    last = eventAt(from + i);
    if (last === undefined || ids[i] === undefined || last.id !== ids[i]) return undefined;
  }
  return last === undefined ? undefined : { kind: 'retry', lastRevision: from + ids.length - 1, position: last.position };
}
