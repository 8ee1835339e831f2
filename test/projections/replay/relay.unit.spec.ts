import { MessageChannel } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acceptedItemBytes, ITEM_BYTES } from '../../../src/projections/acceptedItemBytes.ts';
import { RelayWriter, relayedLog } from '../../../src/projections/replay/relay.ts';
import { createMemoryEventLog } from '../../../src/streams/memoryEventLog.ts';
import { withEventSchemas } from '../../../src/streams/schemaCheckedLog.ts';
import type { EventLog, RecordedEvent } from '../../../src/streams/eventLog.ts';
import { writeSessionLog } from '../sessionLogFixture.ts';

let source: EventLog;
const events: RecordedEvent[] = [];
const closing: Array<() => Promise<void>> = [];

beforeAll(async () => {
  let tick = 0;
  source = withEventSchemas(createMemoryEventLog(), { guardian: 0, now: () => new Date(Date.UTC(2026, 0, 1) + 1000 * tick++) });
  await writeSessionLog(source, { sessions: 3, itemsPerSession: 30, seed: 3 });
  for await (const page of source.readAllPages!(0n, 50)) events.push(...page);
});

afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

/** Relays `events` (ItemAccepted with their bytes) in pages of `page`, as the calling thread of a replay does. */
function relay(list: readonly RecordedEvent[], page: number): EventLog {
  const { port1, port2 } = new MessageChannel();
  const writer = new RelayWriter(port1);
  for (let i = 0; i < list.length; i++) {
    const event = list[i]!;
    writer.add(event, event.type === 'ItemAccepted' ? acceptedItemBytes(event as RecordedEvent & { data: { item: string } }) : undefined);
    if ((i + 1) % page === 0) writer.flush();
  }
  writer.end();
  const log = relayedLog(source, port2, 0);
  closing.push(async () => {
    port1.close();
    await log.close().catch(() => undefined);
  });
  return log;
}

/** What a fold reads of an event: relayed ItemAccepted data as plain fields, item as hex. */
function readable(event: RecordedEvent) {
  if (event.type !== 'ItemAccepted') return { position: event.position, stream: event.stream, revision: event.revision, type: event.type, data: event.data };
  const data = event.data as { session: number; index: number; peer: number; item: string; txid?: string; netAssets: string };
  return { position: event.position, stream: event.stream, revision: event.revision, type: event.type, data: { session: data.session, index: data.index, peer: data.peer, item: data.item, txid: data.txid, netAssets: data.netAssets } };
}

describe('the replay relay', () => {
  it('the fixture has ItemAccepted events with and without txids, and other events', () => {
    const accepted = events.filter((e) => e.type === 'ItemAccepted') as Array<RecordedEvent & { data: { txid?: string } }>;
    expect(accepted.length).toBeGreaterThan(60);
    expect(accepted.some((e) => e.data.txid === undefined)).toBe(true);
    expect(accepted.some((e) => e.data.txid !== undefined)).toBe(true);
    expect(events.some((e) => e.type === 'SessionCompleted')).toBe(true);
  });

  it('gives the events relayed to it, in pages of the size asked for, whatever the relay\'s own pages', async () => {
    for (const relayPage of [1, 7, 1000]) {
      const log = relay(events, relayPage);
      const pages: RecordedEvent[][] = [];
      for await (const page of log.readAllPages!(0n, 16)) pages.push(page);
      expect(pages.slice(0, -1).every((page) => page.length === 16)).toBe(true);
      expect(pages.flat().map(readable)).toEqual(events.map(readable));
    }
  });

  it('carries an item as its bytes, and no itemHash', async () => {
    const log = relay(events, 10);
    const read: RecordedEvent[] = [];
    for await (const page of log.readAllPages!(0n, 64)) read.push(...page);
    const relayed = read.find((e) => e.type === 'ItemAccepted')!;
    const original = events.find((e) => e.position === relayed.position)! as RecordedEvent & { data: { item: string } };
    const data = relayed.data as { item: string; itemHash: string; [ITEM_BYTES]?: Uint8Array };
    expect(Buffer.from(data[ITEM_BYTES]!).toString('hex')).toBe(original.data.item);
    expect(acceptedItemBytes({ ...relayed, data })).toBe(data[ITEM_BYTES]);
    expect(data.item).toBe(original.data.item);
    expect(() => data.itemHash).toThrow(/no itemHash/);
  });

  it('makes the calling thread wait while more than its bound of messages are not yet taken, and stops waiting for a worker that is gone', async () => {
    const { port1, port2 } = new MessageChannel();
    const writer = new RelayWriter(port1, 2);
    closing.push(async () => port1.close());
    const accepted = events.filter((e) => e.type === 'ItemAccepted') as Array<RecordedEvent & { data: { item: string } }>;
    for (let i = 0; i < 3; i++) {
      writer.add(accepted[i]!, acceptedItemBytes(accepted[i]!));
      writer.flush();
    }
    // Three messages out, none taken: past the bound of two.
    const waiting = writer.ready();
    expect(waiting).toBeInstanceOf(Promise);
    let released = false;
    void waiting!.then(() => (released = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(released).toBe(false);
    // The worker's end takes them (each message it takes is answered).
    const log = relayedLog(source, port2, 0);
    closing.push(async () => void (await log.close().catch(() => undefined)));
    await waiting;
    expect(writer.ready()).toBeUndefined();

    // A worker that is gone answers nothing: abandon() lets the calling thread read on.
    const other = new MessageChannel();
    closing.push(async () => {
      other.port1.close();
      other.port2.close();
    });
    const alone = new RelayWriter(other.port1, 0);
    alone.add(accepted[0]!, acceptedItemBytes(accepted[0]!));
    alone.flush();
    const stuck = alone.ready();
    expect(stuck).toBeInstanceOf(Promise);
    alone.abandon();
    await stuck;
    expect(alone.ready()).toBeUndefined();
  });

  it('resumes after a position, dropping what came before it (the snapshots both threads pass over are never relayed)', async () => {
    const skipped = events.filter((_, i) => i % 13 !== 5);
    const log = relay(skipped, 9);
    const first: RecordedEvent[] = [];
    for await (const page of log.readAllPages!(0n, 10)) {
      first.push(...page);
      break;
    }
    const after = skipped[24]!.position;
    const rest: RecordedEvent[] = [];
    for await (const page of log.readAllPages!(after, 10)) rest.push(...page);
    expect(first.map(readable)).toEqual(skipped.slice(0, 10).map(readable));
    expect(rest.map(readable)).toEqual(skipped.slice(25).map(readable));
  });
});
