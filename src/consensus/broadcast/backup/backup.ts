import { coordKey, decodeUnit, type SignedUnit } from '../unit.ts';

/**
 * Where units are saved before they are used or sent (the engine appends them to `dag-<i>`). A
 * unit is used only once its save has resolved, so after a crash the backup holds every unit this
 * node ever built on, in an order where parents come first.
 */
export interface UnitSaver {
  save(encodedUnit: Uint8Array): Promise<void> | void;
}

export class BackupCorruptedError extends Error {
  override name = 'BackupCorruptedError';
}

/**
 * The saved units, decoded and checked: each of this session, by a known creator, and saved after
 * every parent its control hash names (the save-before-use order). Anything else means the backup
 * cannot be trusted, and replaying it could make this node build on units it never validated: fatal.
 */
export function readBackup(saved: readonly Uint8Array[], expected: { session: bigint; n: number }): SignedUnit[] {
  const seen = new Set<string>();
  return saved.map((raw, index) => {
    const decoded = decodeUnit(raw);
    if (!decoded.ok) throw new BackupCorruptedError(`backup unit ${index} does not decode: ${decoded.error.kind} at ${decoded.error.offset}`);
    const { creator, round, session, controlHash } = decoded.value.preUnit;
    const where = `backup unit ${index} (creator ${creator}, round ${round})`;
    if (session !== expected.session) throw new BackupCorruptedError(`${where} belongs to session ${session}, not ${expected.session}`);
    if (creator >= expected.n || controlHash.parents.length !== expected.n) throw new BackupCorruptedError(`${where} does not fit a federation of ${expected.n}`);
    controlHash.parents.forEach((parentRound, parent) => {
      if (parentRound !== undefined && !seen.has(coordKey(parent, parentRound))) {
        throw new BackupCorruptedError(`${where} names parent (creator ${parent}, round ${parentRound}), which is not saved before it`);
      }
    });
    seen.add(coordKey(creator, round));
    return decoded.value;
  });
}

/**
 * Saves in FIFO order and runs each continuation after its own save, synchronously when the saver
 * is synchronous and nothing is queued (the simulated tests), otherwise after the promise chain.
 */
export interface SaveQueue {
  enqueue(encodedUnit: Uint8Array, then: () => void): void;
}

export function createSaveQueue(saver: UnitSaver, onFailure: (error: unknown) => void): SaveQueue {
  let tail: Promise<void> | undefined;
  let failed = false;
  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    onFailure(error);
  };
  const track = (saved: Promise<void>, then: () => void) => {
    const current: Promise<void> = saved.then(() => {
      if (failed) return;
      then();
      if (tail === current) tail = undefined;
    });
    tail = current;
    current.catch(fail);
  };
  return {
    enqueue(encodedUnit, then) {
      if (failed) return;
      if (tail !== undefined) return track(tail.then(() => saver.save(encodedUnit)), then);
      let result: Promise<void> | void;
      try {
        result = saver.save(encodedUnit);
      } catch (error) {
        return fail(error);
      }
      if (result === undefined) return then();
      track(result, then);
    },
  };
}
