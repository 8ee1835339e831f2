/**
 * A yardstick for the replay goal: the least work replaying a log in DESIGN.md's stored form takes
 * per event, written flat on one thread, with nothing of fedlog's code in the way. For every event
 * of a SQLite log, in order, each level adds a step to the one before:
 *   1. read the event's stored columns (position, stream, revision, id, type, data, metadata), a
 *      page of 1,024 rows at a time, as arrays;
 *   2. parse its data (JSON; a stored snapshot's state is only read, as replay hashes it as text);
 *   3. decode an accepted item's hex into bytes (the consensus bytes the header check hashes);
 *   4. three sha256 per accepted item: its merkle leaf, one merkle node, its transaction's txid;
 *   5. three map operations per accepted item, keyed by hex as the ledger's maps are: the txid
 *      accepted, the note spent, a note issued;
 *   6. two sha256 over each stored snapshot's text: its own hash, and the rebuilt state's hash
 *      replay compares it with (a text as long).
 * Replay does all of this and more: schema checks, six projections, the ledger's rules, the audit,
 * signatures. Written this plainly, with Node's own primitives (V8's Map, node:crypto), level 6 is
 * a floor for `fedlog replay` on this machine: the goal's budget (cores / 150,000 s per event) has
 * to hold it and everything else.
 *
 * Run on any log: `node --import tsx bench/replayFloor.ts <data>/guardian-0/log.sqlite`.
 */
import Database from 'better-sqlite3';
import { hash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { machine, median } from './report.ts';

const FLOOR_LEVELS = [
  'read the 7 stored columns of every event',
  '+ JSON.parse of every event\'s data',
  '+ hex of every accepted item decoded',
  '+ 3 sha256 per accepted item (leaf, merkle node, txid)',
  '+ 3 hex-keyed map operations per accepted item',
  '+ 2 sha256 over each stored snapshot (its own hash, the rebuilt state\'s)',
] as const;

type Row = [position: number, stream: string, revision: number, id: string, type: string, data: string, metadata: string];

/** CPU microseconds per event (all threads of this process) for levels 1..`level`'s work over the log at `path`. */
function cpuPerEvent(db: Database.Database, level: number): number {
  const page = db.prepare<[number, number], Row>('SELECT position, stream, revision, id, type, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT ?').raw(true);
  const slab = Buffer.allocUnsafe(1 << 16);
  const pair = Buffer.alloc(64);
  const keys = new Map<string, number>();
  let note = '';
  let events = 0;
  let after = 0;
  const before = process.cpuUsage();
  for (;;) {
    const rows = page.all(after, 1024);
    if (rows.length === 0) break;
    for (const row of rows) {
      if (row[4] === 'SnapshotTaken') {
        if (level >= 6) for (let i = 0; i < 2; i++) hash('sha256', row[5], 'hex');
        continue;
      }
      if (level < 2) continue;
      const data = JSON.parse(row[5]) as { item?: string; peer?: number };
      if (level < 3 || row[4] !== 'ItemAccepted' || typeof data.item !== 'string') continue;
      const length = slab.write(data.item, 0, 'hex');
      const item = slab.subarray(0, length);
      if (level < 4) continue;
      const leaf = hash('sha256', item, 'binary');
      pair.write(leaf, 0, 'binary');
      hash('sha256', pair, 'binary');
      const txid = hash('sha256', item.subarray(Math.min(4, length)), 'hex');
      if (level < 5) continue;
      // As a chain of spends: the note the previous transaction issued is spent, this one's issued.
      keys.set(txid, events);
      keys.delete(note);
      note = `${txid}:0`;
      keys.set(note, events);
    }
    events += rows.length;
    after = rows[rows.length - 1]![0];
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / Math.max(events, 1);
}

export interface FloorRow {
  level: string;
  /** Median CPU µs per event of `runs` runs. */
  microsPerEvent: number;
  runs: number[];
}

/** Each level's CPU per event over the log at `path` (read-only), the median of `runs` runs, levels interleaved run by run. */
export function replayFloor(path: string, runs = 3): FloorRow[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const measured = FLOOR_LEVELS.map(() => [] as number[]);
    for (let run = 0; run < runs; run++) FLOOR_LEVELS.forEach((_, i) => measured[i]!.push(cpuPerEvent(db, i + 1)));
    return FLOOR_LEVELS.map((level, i) => ({ level, microsPerEvent: median(measured[i]!), runs: measured[i]! }));
  } finally {
    db.close();
  }
}

/** CPU µs per event that `rate` events/s allows on all of this machine's cores. */
export const budgetMicros = (rate: number) => (machine().cores * 1e6) / rate;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2];
  if (path === undefined) {
    console.error('usage: node --import tsx bench/replayFloor.ts <log.sqlite>');
    process.exit(2);
  }
  const rows = replayFloor(path, 5);
  console.table(rows.map((r) => ({ level: r.level, 'µs CPU/event (median of 5)': r.microsPerEvent.toFixed(2) })));
  console.log(`budget at 150,000 events/s on ${machine().cores} cores: ${budgetMicros(150_000).toFixed(1)} µs CPU/event (${machine().cpu})`);
}
