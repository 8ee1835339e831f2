import { hexPrefix } from '../domain/mapKeys.ts';
import type { PersistentMap } from '../domain/persistentMap.ts';

/**
 * The ledger's accepted txids as its snapshot's canonical text holds them (every accepted txid,
 * sorted; most of the text): made from the text made for an earlier state plus the keys accepted
 * since, instead of a walk of the whole map (its memory reads scattered) at every checkpoint.
 */

/**
 * The txids (map keys) one fold call accepted, linked to those of the calls before. `previous` is
 * cut once a text has been made for a later state: only a text for an older state needs it, and
 * that one is then made by a walk.
 */
export interface AcceptedKeys {
  readonly keys: readonly string[];
  previous: AcceptedKeys | undefined;
  /** Keys in this link and the ones before it when it was made: a chain stops at MAX_CHAINED_KEYS. */
  readonly chained: number;
}

/**
 * A guardian that never hashes its states (no checkpoints) would otherwise keep a key per accepted
 * transaction here forever; past this many a new chain starts (and the next text is made by a walk).
 */
const MAX_CHAINED_KEYS = 1 << 20;

/** The chain after a fold call that accepted `added`, linked to `previous` (the chain of the state it started from). */
export function chainAcceptedKeys(previous: AcceptedKeys | undefined, added: readonly string[]): AcceptedKeys {
  const chained = added.length + (previous?.chained ?? 0);
  return chained > MAX_CHAINED_KEYS ? { keys: added, previous: undefined, chained: added.length } : { keys: added, previous, chained };
}

/** `"<64 hex digits>",`: one txid of the canonical list, with the comma after it. */
const TXID_RECORD = 67;
const NO_RECORDS = Buffer.alloc(0);

/** The sorted txid records of the last state whose txids were written, and the fold call it reflects. */
let txidsMemo: { map: PersistentMap<true>; through: AcceptedKeys; text: Buffer; count: number } | undefined;

/**
 * The members of the canonical JSON list of `acceptedTxids` (sorted, comma-separated, without the
 * brackets), for the state whose fold calls `accepted` chains (undefined: a state no fold made).
 */
export function acceptedTxidsList(acceptedTxids: PersistentMap<true>, accepted: AcceptedKeys | undefined): Uint8Array {
  const { text, count } = txidsText(acceptedTxids, accepted);
  // Without the last record's comma.
  return count === 0 ? NO_RECORDS : text.subarray(0, TXID_RECORD * count - 1);
}

/**
 * The ledger's accepted txids as canonical JSON list members, sorted, each a TXID_RECORD: merged
 * from the text of an earlier state of the same fold and the keys accepted since (sorted alone),
 * when `accepted` leads back to that state and the counts agree; else from a walk of the map.
 */
function txidsText(map: PersistentMap<true>, accepted: AcceptedKeys | undefined): { text: Buffer; count: number } {
  const memo = txidsMemo;
  // A map changed in place is the same object at every size (accepted txids are only ever added).
  if (memo?.map === map && memo.count === map.size) return memo;
  let text: { text: Buffer; count: number } | undefined;
  if (accepted !== undefined) {
    // Without a text made before, a chain that holds every key is sorted whole (a map changed in place is not walked in order).
    const through = memo?.through;
    const since: string[] = [];
    let page: AcceptedKeys | undefined = accepted;
    while (page !== undefined && page !== through) {
      for (const key of page.keys) since.push(key);
      page = page.previous;
    }
    const count = memo?.count ?? 0;
    if (page === through && count + since.length === map.size) text = mergedTxids(memo?.text ?? NO_RECORDS, count, sortedTxidKeys(since));
  }
  text ??= walkedTxids(map);
  if (accepted !== undefined) {
    // Texts of later states start from here: the keys before it are no longer needed.
    accepted.previous = undefined;
    txidsMemo = { map, through: accepted, ...text };
  }
  return text;
}

function walkedTxids(map: PersistentMap<true>): { text: Buffer; count: number } {
  const keys = map.sortedKeys();
  const text = Buffer.allocUnsafe(TXID_RECORD * keys.length);
  let at = 0;
  for (const key of keys) {
    // The map's keys are hexKey of 32-byte txids, or snapshot txids checked as 64 lowercase hex digits.
    if (key.length !== 64) throw new Error(`accepted txid key of ${key.length} characters`);
    writeRecord(text, at, key);
    at += TXID_RECORD;
  }
  return { text, count: keys.length };
}

/** Up to this many keys are sorted by their 8-digit prefix and index packed in one float64 (20 bits of index). */
const PREFIX_SORTED_UP_TO = 1 << 20;

/**
 * `keys` (64 lowercase hex digits each) in code-unit order: sorted as numbers by their first 8
 * digits in a Float64Array (a native numeric sort, cheaper than comparing strings), then each run of keys sharing those digits (rare) by comparing the strings.
 */
function sortedTxidKeys(keys: string[]): string[] {
  const n = keys.length;
  if (n > PREFIX_SORTED_UP_TO) return keys.sort();
  const order = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const prefix = hexPrefix(keys[i]!);
    if (prefix < 0) return keys.sort();
    order[i] = prefix * PREFIX_SORTED_UP_TO + i;
  }
  order.sort();
  const sorted = new Array<string>(n);
  for (let i = 0; i < n; i++) sorted[i] = keys[order[i]! % PREFIX_SORTED_UP_TO]!;
  for (let start = 0; start < n; ) {
    const prefix = Math.floor(order[start]! / PREFIX_SORTED_UP_TO);
    let end = start + 1;
    while (end < n && Math.floor(order[end]! / PREFIX_SORTED_UP_TO) === prefix) end++;
    if (end - start > 1) {
      const run = sorted.slice(start, end).sort();
      for (let i = start; i < end; i++) sorted[i] = run[i - start]!;
    }
    start = end;
  }
  return sorted;
}

/** The records of `old` (sorted) and of `added` (sorted, none among them), merged. */
function mergedTxids(old: Buffer, oldCount: number, added: readonly string[]): { text: Buffer; count: number } {
  const count = oldCount + added.length;
  const text = Buffer.allocUnsafe(TXID_RECORD * count);
  let at = 0;
  let next = 0;
  for (const key of added) {
    if (key.length !== 64) throw new Error(`accepted txid key of ${key.length} characters`);
    const from = next;
    while (next < oldCount && recordBefore(old, next, key)) next++;
    if (next > from) at += old.copy(text, at, TXID_RECORD * from, TXID_RECORD * next);
    writeRecord(text, at, key);
    at += TXID_RECORD;
  }
  if (next < oldCount) old.copy(text, at, TXID_RECORD * next, TXID_RECORD * oldCount);
  return { text, count };
}

/** Whether old record `index` sorts before `key` (code-unit order, as sortedKeys; hex digits are ASCII). */
function recordBefore(old: Buffer, index: number, key: string): boolean {
  const at = TXID_RECORD * index + 1;
  for (let i = 0; i < 64; i++) {
    const d = old[at + i]! - key.charCodeAt(i);
    if (d !== 0) return d < 0;
  }
  return false;
}

function writeRecord(text: Buffer, at: number, key: string): void {
  text[at] = 0x22;
  text.write(key, at + 1, 64, 'latin1');
  text[at + 65] = 0x22;
  text[at + 66] = 0x2c;
}
