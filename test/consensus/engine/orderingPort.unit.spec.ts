import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConsensusFailure } from '../../../src/consensus/engine/engine.ts';
import { encodeConsensusItem } from '../../../src/domain/consensusItem.ts';
import { bytesToHex, header } from '../../../src/domain/hashing.ts';
import { claimDeposit } from '../../../src/domain/modules/wallet.ts';
import { issueNote } from '../../../src/domain/modules/mint.ts';
import { acceptedItemHashOfEncoded, type SignedSessionOutcome } from '../../../src/domain/sessionOutcome.ts';
import { buildTransaction } from '../../../src/domain/transaction.ts';
import type { EventLog, RecordedEvent } from '../../../src/streams/eventLog.ts';
import { streams } from '../../../src/streams/events.ts';
import { batch, deposit, engineOfPeer0, federationLog, KEYS, keychains, ROUNDS, SECRETS, scriptedOrdering, unit } from './scriptedOrdering.ts';

const sessionEvents = (log: EventLog, session: number) => log.readStream(streams.session(session));
const ofType = (events: readonly RecordedEvent[], type: string) => events.filter((e) => e.type === type).map((e) => e.data as Record<string, unknown>);

/** The header of session 0 after `items` (item, peer) were accepted in order. */
const headerOf = (items: [ReturnType<typeof deposit>, number][]) => header(0, items.map(([item, peer]) => acceptedItemHashOfEncoded(encodeConsensusItem(item), peer)));

// Three distinct guardians observing the same deposit confirm it (threshold(4) = 3).
const depositUnits = () => [batch(1, 0, [deposit(1)]), batch(2, 0, [deposit(1)]), batch(3, 1, [deposit(1)])];
const depositItems = (): [ReturnType<typeof deposit>, number][] => [[deposit(1), 1], [deposit(1), 2], [deposit(1), 3]];

describe('the engine over an ordering port (n = 4)', () => {
  it('processes ordered units in order, signs after roundsPerSession, and completes on a threshold of distinct valid signatures', async () => {
    const log = await federationLog();
    const expected = headerOf(depositItems());
    const garbage = new Uint8Array(64).fill(7);
    const { ordering, proposed } = scriptedOrdering((session) =>
      session > 0
        ? []
        : [
            ...depositUnits(),
            // Items ordered after the rounds are over are not processed this session.
            batch(2, ROUNDS, [deposit(2)]),
            unit(1, ROUNDS + 1, { kind: 'signature', signature: garbage }),
            unit(2, ROUNDS + 1, { kind: 'signature', signature: keychains[2]!.sign(expected) }),
            // A repeated signature from the same peer does not count twice.
            unit(2, ROUNDS + 2, { kind: 'signature', signature: keychains[2]!.sign(expected) }),
            unit(3, ROUNDS + 2, { kind: 'signature', signature: keychains[3]!.sign(expected) }),
          ],
    );
    const engine = await engineOfPeer0(log, ordering);
    const completed = await firstValueFrom(engine.sessionCompleted$);
    await engine.stop();
    expect(completed).toMatchObject({ session: 0, itemCount: 3, header: bytesToHex(expected) });
    expect(proposed.map(bytesToHex)).toEqual([bytesToHex(keychains[0]!.sign(expected))]);
    const events = await sessionEvents(log, 0);
    expect(ofType(events, 'ItemAccepted').map((d) => d.peer)).toEqual([1, 2, 3]);
    expect(ofType(events, 'SignatureRecorded').map((d) => [d.peer, d.valid])).toEqual([
      [0, true],
      [2, true],
      [3, true],
      [1, false],
    ]);
    const [sealed] = ofType(events, 'SessionCompleted');
    expect(Object.keys(sealed!.signatures as object)).toEqual(['0', '2', '3']);
    expect(sealed!.source).toBe('local');
  });

  it('commits units ordered back to back in one append (one fsync), and each unit alone when it waits', async () => {
    const base = await federationLog();
    const appends: number[] = [];
    const log: EventLog = {
      ...base,
      async append(stream, events, options) {
        if (stream.startsWith('session-')) appends.push(events.filter((e) => e.type === 'ItemAccepted').length);
        return base.append(stream, events, options);
      },
    };
    const { ordering } = scriptedOrdering((session) => (session > 0 ? [] : depositUnits()));
    const engine = await engineOfPeer0(log, ordering);
    await waitFor(async () => ofType(await sessionEvents(base, 0), 'ItemAccepted').length === 3);
    await engine.stop();
    expect(appends).toEqual([3]);
  });

  it('never completes on invalid or unknown signatures, however many', async () => {
    const log = await federationLog();
    const wrongHeader = header(0, []);
    const { ordering } = scriptedOrdering((session) =>
      session > 0 ? [] : [...depositUnits(), batch(1, ROUNDS, []), ...[1, 2, 3, 9].map((peer) => unit(peer % 4, ROUNDS + 1, { kind: 'signature', signature: keychains[peer % 4]!.sign(wrongHeader) }))],
    );
    const engine = await engineOfPeer0(log, ordering);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(engine.currentSession()).toBe(0);
    await engine.stop();
    expect(ofType(await sessionEvents(log, 0), 'SessionCompleted')).toHaveLength(0);
  });

  it('skips the items it recorded when the ordering replays the session after a restart', async () => {
    const log = await federationLog();
    const expected = headerOf(depositItems());
    const first = scriptedOrdering(() => depositUnits());
    const before = await engineOfPeer0(log, first.ordering);
    await waitFor(async () => ofType(await sessionEvents(log, 0), 'ItemAccepted').length === 3);
    await before.stop();

    const replaying = scriptedOrdering(
      (session) => (session > 0 ? [] : [...depositUnits(), batch(1, ROUNDS, []), ...[2, 3].map((peer) => unit(peer, ROUNDS + 1, { kind: 'signature', signature: keychains[peer]!.sign(expected) }))]),
      { replays: true },
    );
    const after = await engineOfPeer0(log, replaying.ordering);
    const completed = await firstValueFrom(after.sessionCompleted$);
    await after.stop();
    expect(completed).toMatchObject({ session: 0, itemCount: 3, header: bytesToHex(expected) });
    expect(ofType(await sessionEvents(log, 0), 'ItemAccepted').map((d) => d.index)).toEqual([0, 1, 2]);
  });

  it('halts with "discarded previously" when a replayed item differs from the one recorded at its place', async () => {
    const log = await federationLog();
    const before = await engineOfPeer0(log, scriptedOrdering(() => depositUnits()).ordering);
    await waitFor(async () => ofType(await sessionEvents(log, 0), 'ItemAccepted').length === 3);
    await before.stop();

    const conflicting = scriptedOrdering(() => [batch(1, 0, [deposit(2)])], { replays: true });
    const after = await engineOfPeer0(log, conflicting.ordering);
    await expect(after.done).rejects.toThrow(ConsensusFailure);
    await expect(after.done).rejects.toThrow(/discarded previously/);
  });

  it("completes the session from a peer's signed outcome: our items are its prefix, the rest is processed", async () => {
    const log = await federationLog();
    const claim = buildTransaction({ inputs: [claimDeposit(new Uint8Array(32).fill(0).map((_, i) => (i === 31 ? 1 : 0)))], outputs: [issueNote(9_000n, KEYS.get(1)!)], secretKeysPerInput: [SECRETS[0]!], nonce: new Uint8Array(8) });
    const claimItem = { kind: 'transaction' as const, tx: claim.tx };
    const items = [...depositItems(), [claimItem, 2] as [typeof claimItem, number]];
    const sealedHeader = header(0, items.map(([item, peer]) => acceptedItemHashOfEncoded(encodeConsensusItem(item), peer)));
    const signatures = new Map([1, 2, 3].map((peer) => [peer, keychains[peer]!.sign(sealedHeader)] as const));
    const outcome: SignedSessionOutcome = { outcome: { items: items.map(([item, peer]) => ({ item, peer })) }, signatures };
    const tooFew: SignedSessionOutcome = { ...outcome, signatures: new Map([...signatures].slice(0, 2)) };
    const { ordering } = scriptedOrdering((session) => (session > 0 ? [] : [batch(1, 0, [deposit(1)]), { kind: 'signedOutcome', outcome: tooFew }, { kind: 'signedOutcome', outcome }]));
    const engine = await engineOfPeer0(log, ordering);
    const completed = await firstValueFrom(engine.sessionCompleted$);
    await engine.stop();
    expect(completed).toMatchObject({ session: 0, itemCount: 4, header: bytesToHex(sealedHeader) });
    const events = await sessionEvents(log, 0);
    expect(ofType(events, 'ItemAccepted').map((d) => [d.index, d.peer])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 2],
    ]);
    expect(ofType(events, 'ItemAccepted')[3]!.txid).toBe(bytesToHex(claim.txid));
    expect(ofType(events, 'SessionCompleted')).toMatchObject([{ source: 'peer', itemCount: 4 }]);
  });

  it("halts when a peer's valid signed outcome contradicts the items this guardian accepted", async () => {
    const log = await federationLog();
    const items: [ReturnType<typeof deposit>, number][] = [[deposit(5), 1]];
    const sealedHeader = header(0, items.map(([item, peer]) => acceptedItemHashOfEncoded(encodeConsensusItem(item), peer)));
    const outcome: SignedSessionOutcome = { outcome: { items: items.map(([item, peer]) => ({ item, peer })) }, signatures: new Map([1, 2, 3].map((peer) => [peer, keychains[peer]!.sign(sealedHeader)])) };
    const { ordering } = scriptedOrdering(() => [batch(2, 0, [deposit(1)]), { kind: 'signedOutcome', outcome }]);
    const engine = await engineOfPeer0(log, ordering);
    await expect(engine.done).rejects.toThrow(/item 0 differs from the signed outcome/);
  });
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition never held');
}
