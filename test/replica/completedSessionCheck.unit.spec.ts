import { beforeAll, describe, expect, it } from 'vitest';
import { federationTag } from '../../src/domain/federation.ts';
import { bytesToHex, hexToBytes, sha256 } from '../../src/domain/hashing.ts';
import { fastestBackend } from '../../src/runtime/signatures/fastest.ts';
import { completedSessionProblem, type SessionCheckContext } from '../../src/replica/completedSessionCheck.ts';
import { isEvent, type FedlogEventData } from '../../src/streams/events.ts';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { writeSessionLog } from '../projections/sessionLogFixture.ts';

/** A session as recorded in a guardian's log holds only when the federation's signature covers exactly its recorded items. */

type Completed = FedlogEventData<'SessionCompleted'>;
type Item = FedlogEventData<'ItemAccepted'>;

const backend = fastestBackend();
let context: SessionCheckContext;
let completed: Completed;
let items: Item[];

beforeAll(async () => {
  const log = withEventSchemas(createMemoryEventLog(), { guardian: 0 });
  const summary = await writeSessionLog(log, { sessions: 2, itemsPerSession: 8, seed: 41 });
  const keys = new Map([[0, hexToBytes(summary.federation.keys['0']!)]]);
  context = { keys, backend, tag: federationTag(keys) };
  const session = await log.readStream('session-1');
  completed = session.find((e) => isEvent(e, 'SessionCompleted'))!.data as Completed;
  items = session.filter((e) => isEvent(e, 'ItemAccepted')).map((e) => e.data as Item);
});

const problem = (edit: { completed?: Partial<Completed>; items?: Item[] } = {}, expected = 1) =>
  completedSessionProblem(context, expected, { ...completed, ...edit.completed }, edit.items ?? items);

describe('a recorded completed session', () => {
  it('holds as the guardian recorded it, its items in any order', () => {
    expect(items.length).toBeGreaterThan(3);
    expect(problem()).toBeUndefined();
    expect(problem({ items: [...items].reverse() })).toBeUndefined();
  });

  it('does not hold out of order, short of an item, or with an index skipped', () => {
    expect(problem({}, 2)).toBe('SessionCompleted of session 1 where session 2 comes next');
    expect(problem({ items: items.slice(1) })).toBe(`SessionCompleted counts ${items.length} items, the log holds ${items.length - 1}`);
    expect(problem({ items: items.map((item, i) => (i === 2 ? { ...item, index: 99 } : item)) })).toBe(`item indices are not 0..${items.length - 1} (found 3 at 2)`);
  });

  it('does not hold when an item, its hash or its txid was edited', () => {
    const first = items[0]!;
    const bytes = hexToBytes(first.item);
    bytes[bytes.length - 1] = bytes.at(-1)! ^ 1;
    expect(problem({ items: [{ ...first, item: bytesToHex(bytes) }, ...items.slice(1)] })).toMatch(/^item 0: /);
    expect(problem({ items: [{ ...first, itemHash: '00'.repeat(32) }, ...items.slice(1)] })).toMatch(/^item 0: stored itemHash 0{64} is not the hash of its item and peer/);
    const withTxid = items.find((item) => item.txid !== undefined)!;
    expect(problem({ items: items.map((item) => (item === withTxid ? { ...item, txid: 'ff'.repeat(32) } : item)) })).toMatch(new RegExp(`^item ${withTxid.index}: stored txid f{64} is not the transaction's txid`));
  });

  it('does not hold when its header is not that of its items, or a threshold of the keys did not sign it', () => {
    expect(problem({ completed: { header: completed.header.replace(/.$/, (c) => (c === '0' ? '1' : '0')) } })).toBe('the recorded header is not header(i) of the recorded items');
    expect(problem({ completed: { signatures: {} } })).toBe('only 0 of the 1 signatures needed verify against the federation keys');
    const stranger = bytesToHex(sha256(new TextEncoder().encode('not a signature')));
    expect(problem({ completed: { signatures: { '0': stranger + stranger, '7': completed.signatures['0']! } } })).toBe(
      'only 0 of the 1 signatures needed verify against the federation keys (invalid signatures from peers 0; signers outside the federation: 7)',
    );
  });
});
