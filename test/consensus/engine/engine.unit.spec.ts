import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { bytesToHex, header, hexToBytes } from '../../../src/domain/hashing.ts';
import { createVerifier } from '../../../src/domain/keychain.ts';
import { encodeConsensusItem } from '../../../src/domain/consensusItem.ts';
import { acceptedItemHashOfEncoded } from '../../../src/domain/sessionOutcome.ts';
import { decodeTransaction, txid } from '../../../src/domain/transaction.ts';
import { defaultModuleCodecs } from '../../../src/domain/modules/consensusModules.ts';
import { federationKeys } from '../../../src/consensus/config.ts';
import { isEvent, streams } from '../../../src/streams/events.ts';
import type { EventLog } from '../../../src/streams/eventLog.ts';
import { claimTx, configuredLog, depositId, engineOn, gatedLog, spendTx, testConfig, USER_KEY } from './engineFixture.ts';

const deposit = (n: number, amount = 10_000n) => ({ depositId: depositId(n), amount, recipient: bytesToHex(USER_KEY) });

async function sessionEvents(log: EventLog, session: number) {
  return log.readStream(streams.session(session));
}

describe('the single-guardian session loop', () => {
  it('accepts a deposit and its claim, then closes the session with a valid signed header', async () => {
    const log = await configuredLog(0.3);
    const engine = await engineOn(log, 0.3);
    const completed = firstValueFrom(engine.sessionCompleted$);
    expect((await engine.observeDeposit(deposit(1))).kind).toBe('queued');
    const claim = claimTx(1, 9_000n);
    const deposited = await waitAccepted(engine, log, 0);
    expect(deposited).toBe(1);
    expect(await engine.submitTransaction(claim.hex)).toEqual({ kind: 'queued', txid: claim.txid });
    const status = await engine.waitForOutcome(claim.txid, 2_000);
    expect(status).toMatchObject({ status: 'accepted', session: 0, index: 1 });
    const summary = await completed;
    expect(summary).toMatchObject({ session: 0, itemCount: 2 });
    const events = await sessionEvents(log, 0);
    const accepted = events.filter((e) => isEvent(e, 'ItemAccepted'));
    const done = events.at(-1)!;
    expect(isEvent(done, 'SessionCompleted')).toBe(true);
    if (!isEvent(done, 'SessionCompleted')) return;
    const expected = header(0, accepted.map((e) => hexToBytes((e.data as { itemHash: string }).itemHash)));
    expect(done.data.header).toBe(bytesToHex(expected));
    const verifier = createVerifier(federationKeys(testConfig(0.3)));
    expect(verifier.verifyThreshold(expected, new Map([[0, hexToBytes(done.data.signatures['0']!)]]))).toBe(true);
    expect(engine.currentSession()).toBe(1);
    await engine.stop();
  });

  it('records a submitted transaction as the domain encodes it: item bytes, item hash and txid', async () => {
    const log = await configuredLog(5);
    const engine = await engineOn(log, 5);
    await engine.observeDeposit(deposit(2));
    await waitAccepted(engine, log, 0);
    const claim = claimTx(2, 9_000n);
    expect(await engine.submitTransaction(claim.hex)).toEqual({ kind: 'queued', txid: claim.txid });
    expect(await engine.waitForOutcome(claim.txid, 2_000)).toMatchObject({ status: 'accepted', index: 1 });
    const recorded = (await sessionEvents(log, 0)).filter((e) => isEvent(e, 'ItemAccepted'))[1]!.data as { item: string; itemHash: string; txid?: string };
    const decoded = decodeTransaction(hexToBytes(claim.hex), defaultModuleCodecs);
    if (!decoded.ok) throw new Error('the fixture transaction does not decode');
    const item = encodeConsensusItem({ kind: 'transaction', tx: decoded.value });
    expect(recorded.item).toBe(bytesToHex(item));
    expect(recorded.itemHash).toBe(bytesToHex(acceptedItemHashOfEncoded(item, 0)));
    expect(recorded.txid).toBe(bytesToHex(txid(decoded.value)));
    await engine.stop();
  });

  it('closes empty sessions on time, one after another', async () => {
    const log = await configuredLog(0.1);
    const engine = await engineOn(log, 0.1);
    const seen: number[] = [];
    const subscription = engine.sessionCompleted$.subscribe((s) => seen.push(s.session));
    await new Promise((resolve) => setTimeout(resolve, 450));
    await engine.stop();
    subscription.unsubscribe();
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual(seen.map((_, i) => i));
    for (const session of seen) expect((await sessionEvents(log, session)).at(-1)!.type).toBe('SessionCompleted');
  });

  it('continues the same session after a restart, without accepting anything twice', async () => {
    const log = await configuredLog(1.5);
    const first = await engineOn(log, 1.5);
    await first.observeDeposit(deposit(7));
    await waitAccepted(first, log, 0);
    const claim = claimTx(7, 5_000n);
    await first.submitTransaction(claim.hex);
    expect(await first.waitForOutcome(claim.txid, 2_000)).toMatchObject({ status: 'accepted', index: 1 });
    await first.stop();
    expect(first.currentSession()).toBe(0);

    const second = await engineOn(log, 1.5);
    expect(second.currentSession()).toBe(0);
    expect(await second.submitTransaction(claim.hex)).toEqual({ kind: 'alreadyAccepted', txid: claim.txid });
    // The identical deposit is an idempotent retry; the same id with another amount is refused.
    expect((await second.observeDeposit(deposit(7))).kind).toBe('alreadyAccepted');
    expect(await second.observeDeposit(deposit(7, 20_000n))).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/already confirmed/) });
    const spend = spendTx(claim.txid, 0, 5_000n);
    const completed = firstValueFrom(second.sessionCompleted$);
    await second.submitTransaction(spend.hex);
    expect(await second.waitForOutcome(spend.txid, 2_000)).toMatchObject({ status: 'accepted', session: 0, index: 2 });
    expect(await completed).toMatchObject({ session: 0, itemCount: 3 });
    await second.stop();
    const events = await sessionEvents(log, 0);
    expect(events.filter((e) => e.type === 'ItemAccepted').map((e) => (e.data as { index: number }).index)).toEqual([0, 1, 2]);
    expect(events.filter((e) => e.type === 'SessionCompleted')).toHaveLength(1);
  });

  it('answers queueFull when the queue is at capacity, and loses none of the queued items', async () => {
    const base = await configuredLog(3600);
    const gated = gatedLog(base);
    const engine = await engineOn(gated.log, 3600, { queueCapacity: 2 });
    gated.close();
    // The first is taken by the loop, which then blocks on its commit; the next two fill the queue.
    const outcomes = [];
    for (let n = 1; n <= 4; n++) {
      outcomes.push(await engine.observeDeposit(deposit(n)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(outcomes.map((o) => o.kind)).toEqual(['queued', 'queued', 'queued', 'queueFull']);
    expect(outcomes[3]).toMatchObject({ retryAfterSeconds: expect.any(Number) as number });
    gated.release();
    await waitAccepted(engine, base, 0, 3);
    await engine.stop();
    expect((await sessionEvents(base, 0)).filter((e) => e.type === 'ItemAccepted')).toHaveLength(3);
  });

  it('treats a resubmitted transaction as the same one and rejects a double spend', async () => {
    const log = await configuredLog(3600);
    const gated = gatedLog(log);
    const engine = await engineOn(gated.log, 3600);
    await engine.observeDeposit(deposit(3));
    await waitAccepted(engine, log, 0);
    const claim = claimTx(3, 8_000n);
    await engine.submitTransaction(claim.hex);
    await engine.waitForOutcome(claim.txid, 2_000);

    gated.close();
    const spendA = spendTx(claim.txid, 0, 8_000n);
    const spendB = spendTx(claim.txid, 0, 7_000n);
    expect(await engine.submitTransaction(spendA.hex)).toEqual({ kind: 'queued', txid: spendA.txid });
    await new Promise((resolve) => setImmediate(resolve));
    // Both pass the dry run against the state before A is recorded; the loop must reject B.
    expect(await engine.submitTransaction(spendA.hex)).toEqual({ kind: 'queued', txid: spendA.txid });
    expect(await engine.submitTransaction(spendB.hex)).toEqual({ kind: 'queued', txid: spendB.txid });
    gated.release();
    expect(await engine.waitForOutcome(spendA.txid, 2_000)).toMatchObject({ status: 'accepted' });
    expect(await engine.waitForOutcome(spendB.txid, 2_000)).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/spent/) as string });
    expect(await engine.submitTransaction(spendA.hex)).toEqual({ kind: 'alreadyAccepted', txid: spendA.txid });
    const spendC = spendTx(claim.txid, 0, 6_000n);
    expect(await engine.submitTransaction(spendC.hex)).toMatchObject({ kind: 'invalid', txid: spendC.txid });
    await engine.stop();
    const events = await sessionEvents(log, 0);
    expect(events.filter((e) => e.type === 'ItemAccepted' && (e.data as { txid?: string }).txid === spendA.txid)).toHaveLength(1);
    expect(events.filter((e) => e.type === 'ItemRejected')).toHaveLength(1);
  });

  it('refuses malformed and badly signed transactions at submission', async () => {
    const log = await configuredLog(3600);
    const engine = await engineOn(log, 3600);
    expect(await engine.submitTransaction('zz')).toMatchObject({ kind: 'invalid' });
    expect(await engine.submitTransaction('00')).toMatchObject({ kind: 'invalid' });
    await engine.observeDeposit(deposit(9));
    await waitAccepted(engine, log, 0);
    const claim = claimTx(9, 1_000n);
    // Flip one bit of the signature (the last bytes of the encoding).
    const bytes = hexToBytes(claim.hex);
    bytes[bytes.length - 1]! ^= 1;
    expect(await engine.submitTransaction(bytesToHex(bytes))).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/signature/) as string });
    // Not hex of whole bytes, anywhere in the text: refused before decoding, whatever the rest is.
    const notHex = 'tx must be non-empty hex of whole bytes';
    for (const text of ['', '0', claim.hex.slice(1), claim.hex + '0', claim.hex.slice(0, -2) + '0g', 'g' + claim.hex.slice(1), claim.hex.slice(0, 10) + ' ' + claim.hex.slice(11), claim.hex.slice(0, 10) + '\u0660' + claim.hex.slice(11), claim.hex.slice(0, 10) + '\uff10' + claim.hex.slice(11)]) {
      expect(await engine.submitTransaction(text), JSON.stringify(text.slice(0, 12))).toEqual({ kind: 'invalid', reason: notHex });
    }
    expect(await engine.submitTransaction(claim.hex.toUpperCase())).toEqual({ kind: 'queued', txid: claim.txid });
    expect(await engine.waitForOutcome(claim.txid, 2_000)).toMatchObject({ status: 'accepted' });
    await engine.stop();
  });

  it('checkpoints a completed session only once enough events were appended since the previous checkpoint', async () => {
    const run = async (minEvents: number) => {
      const log = await configuredLog(0.05);
      const checkpoints: { session: number; position: bigint }[] = [];
      const engine = await engineOn(log, 0.05, {
        checkpointPolicy: { minEvents, lastPosition: 0n },
        checkpoint: (session, position) => {
          checkpoints.push({ session, position });
          return Promise.resolve();
        },
      });
      const completed: number[] = [];
      const subscription = engine.sessionCompleted$.subscribe((summary) => completed.push(summary.session));
      while (completed.length < 8) await new Promise((resolve) => setTimeout(resolve, 20));
      await engine.stop();
      subscription.unsubscribe();
      return { checkpoints, completed };
    };
    // 0: every session, as DESIGN.md's plain rule.
    const every = await run(0);
    expect(every.checkpoints.map((c) => c.session)).toEqual(every.completed);
    // An empty session appends 2 events (signature, completion): 5 events apart means every third session.
    const sparse = await run(5);
    expect(sparse.checkpoints.length).toBeGreaterThanOrEqual(2);
    expect(sparse.checkpoints.length).toBeLessThan(sparse.completed.length);
    expect(sparse.checkpoints[0]!.position).toBeGreaterThanOrEqual(5n);
    for (let i = 1; i < sparse.checkpoints.length; i++) {
      const gap = sparse.checkpoints[i]!.position - sparse.checkpoints[i - 1]!.position;
      expect(gap).toBeGreaterThanOrEqual(5n);
      // ...and no later than the first session completion that reached the threshold.
      expect(gap).toBeLessThan(7n);
    }
  });

  it('releases every waiter at once when it stops, and answers later waits at once', async () => {
    const base = await configuredLog(3600);
    const gated = gatedLog(base);
    const engine = await engineOn(gated.log, 3600);
    gated.close();
    const queued = await engine.observeDeposit(deposit(40));
    expect(queued.kind).toBe('queued');
    const key = (queued as { txid: string }).txid;
    const started = performance.now();
    const waits = [engine.waitForOutcome(key, 10_000), engine.waitForOutcome(key, 10_000)];
    const stopped = engine.stop();
    gated.release();
    expect(await Promise.all(waits)).toEqual([undefined, undefined]);
    await stopped;
    expect(await engine.waitForOutcome('ab'.repeat(32), 10_000)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('waits for many outcomes at once: in order, repeated txids included, with what is known at the timeout', async () => {
    const log = await configuredLog(3600);
    const gated = gatedLog(log);
    const engine = await engineOn(gated.log, 3600);
    await engine.observeDeposit(deposit(50));
    await engine.observeDeposit(deposit(51));
    await waitAccepted(engine, log, 0, 2);
    const claimA = claimTx(50, 8_000n);
    const claimB = claimTx(51, 8_000n);
    await engine.submitTransaction(claimA.hex);
    expect(await engine.waitForOutcome(claimA.txid, 2_000)).toMatchObject({ status: 'accepted' });

    gated.close();
    expect(await engine.submitTransaction(claimB.hex)).toEqual({ kind: 'queued', txid: claimB.txid });
    const spendA = spendTx(claimA.txid, 0, 8_000n);
    const rivalA = spendTx(claimA.txid, 0, 7_000n);
    expect((await engine.submitTransaction(spendA.hex)).kind).toBe('queued');
    expect((await engine.submitTransaction(rivalA.hex)).kind).toBe('queued');
    const unknown = 'cd'.repeat(32);
    // Nothing is recorded while the log is held: the wait ends at its timeout with what was known.
    expect(await engine.waitForOutcomes([claimA.txid, claimB.txid, unknown], 50)).toEqual([expect.objectContaining({ status: 'accepted' }), undefined, undefined]);
    const all = engine.waitForOutcomes([spendA.txid, claimB.txid, rivalA.txid, spendA.txid], 5_000);
    gated.release();
    const [a, b, rival, again] = await all;
    expect(a).toMatchObject({ txid: spendA.txid, status: 'accepted' });
    expect(b).toMatchObject({ txid: claimB.txid, status: 'accepted' });
    expect(rival).toMatchObject({ txid: rivalA.txid, status: 'rejected' });
    expect(again).toEqual(a);

    // An abort ends the wait at once, and the stop releases any other.
    const controller = new AbortController();
    const started = performance.now();
    const aborted = engine.waitForOutcomes([unknown], 10_000, controller.signal);
    const stopped = engine.waitForOutcomes([unknown, spendA.txid], 10_000);
    controller.abort();
    expect(await aborted).toEqual([undefined]);
    await engine.stop();
    expect(await stopped).toEqual([undefined, a]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('commits at most maxBatch items per append', async () => {
    const base = await configuredLog(3600);
    const gated = gatedLog(base);
    const engine = await engineOn(gated.log, 3600, { maxBatch: 2 });
    gated.close();
    for (let n = 1; n <= 5; n++) expect((await engine.observeDeposit(deposit(20 + n))).kind).toBe('queued');
    gated.release();
    await waitAccepted(engine, base, 0, 5);
    await engine.stop();
    const events = await sessionEvents(base, 0);
    // Items of one append share its commit: count appends by the revisions at which a batch starts.
    const accepted = events.filter((e) => e.type === 'ItemAccepted');
    expect(accepted).toHaveLength(5);
    expect(gated.appendSizes().every((size) => size <= 2)).toBe(true);
  });
});

/** Waits until `count` items are recorded as accepted in `session`. */
async function waitAccepted(_engine: unknown, log: EventLog, session: number, count = 1): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const accepted = (await log.readStream(streams.session(session))).filter((e) => e.type === 'ItemAccepted').length;
    if (accepted >= count) return accepted;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`session ${session} never reached ${count} accepted items`);
}
