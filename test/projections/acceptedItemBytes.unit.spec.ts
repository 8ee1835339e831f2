import { describe, expect, it } from 'vitest';
import { acceptedItemBytes } from '../../src/projections/acceptedItemBytes.ts';
import type { RecordedEvent } from '../../src/streams/eventLog.ts';

const hexOf = (n: number) => (n * 2654435761 >>> 0).toString(16).padStart(8, '0') + '00ff';
const eventAt = (position: bigint, item: string) =>
  ({ id: '', stream: 'session-0', revision: 0, position, type: 'ItemAccepted', data: { session: 0, index: 0, peer: 0, item, itemHash: '', netAssets: '0' }, metadata: { schemaVersion: 1, guardian: 0, recordedAt: '' } }) as RecordedEvent & { data: { item: string } };
const hexOfBytes = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('acceptedItemBytes', () => {
  it('decodes each item once for readers that ask for a page of items after it was read, in log order', () => {
    const page = Array.from({ length: 1024 }, (_, i) => eventAt(BigInt(10_000 + i), hexOf(i)));
    const first = page.map((e) => acceptedItemBytes(e));
    expect(first.map(hexOfBytes)).toEqual(page.map((e) => e.data.item));
    // A fold of the page afterwards, and another one (the same event objects, or the same events read again).
    for (const reader of [page, page.map((e) => eventAt(e.position, e.data.item))]) {
      const again = reader.map((e) => acceptedItemBytes(e));
      for (let i = 0; i < page.length; i++) expect(again[i]).toBe(first[i]);
    }
  });

  it('gives the right bytes for an item of the same position in another log, for older positions and once the ring has moved on', () => {
    const a = eventAt(50_000n, 'aa01');
    expect(hexOfBytes(acceptedItemBytes(a))).toBe('aa01');
    expect(hexOfBytes(acceptedItemBytes(eventAt(50_000n, 'bb02')))).toBe('bb02');
    expect(hexOfBytes(acceptedItemBytes(eventAt(7n, 'cc03')))).toBe('cc03');
    for (let i = 0; i < 5000; i++) acceptedItemBytes(eventAt(BigInt(60_000 + i), hexOf(i)));
    expect(hexOfBytes(acceptedItemBytes(a))).toBe('aa01');
  });
});
