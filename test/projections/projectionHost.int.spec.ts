import { describe, expect, it } from 'vitest';
import { lastValueFrom, toArray, take } from 'rxjs';
import { evolveAll, projectionStateHash, type AnyProjection, type Projection } from '../../src/projections/projection.ts';
import { startProjections, ProjectionFailedError, type ProjectionHost } from '../../src/projections/projectionHost.ts';
import { standardProjections } from '../../src/projections/standardProjections.ts';
import { sessionsProjection, sessionCount } from '../../src/projections/sessions.ts';
import { ledgerProjection } from '../../src/projections/ledger.ts';
import { readSnapshots } from '../../src/projections/checkpointStore.ts';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { countAppends } from '../../src/streams/appendCounter.ts';
import type { EventLog, Position, RecordedEvent } from '../../src/streams/eventLog.ts';
import { newEvent, streams } from '../../src/streams/events.ts';
import { writeSessionLog, checkpointEachSession } from './sessionLogFixture.ts';


function memoryLog(): EventLog {
  let tick = 0;
  return withEventSchemas(createMemoryEventLog(), { guardian: 0, now: () => new Date(Date.UTC(2026, 0, 1) + 1000 * tick++) });
}

/** Folds every projection over the whole log, without any host or snapshot. */
async function foldAll(log: EventLog, projections: readonly AnyProjection[] = standardProjections()): Promise<Map<string, string>> {
  const states = projections.map((p) => ({ p, s: p.initial as unknown }));
  for await (const event of log.readAll()) for (const e of states) e.s = e.p.evolve(e.s, event);
  return new Map(states.map((e) => [e.p.name, projectionStateHash(e.p, e.s)]));
}

function hashes(host: ProjectionHost, projections: readonly AnyProjection[] = standardProjections()): Map<string, string> {
  return new Map(projections.map((p) => [p.name, projectionStateHash(p, host.state(p))]));
}

describe('projection host', () => {
  it('gives the same state hashes from position 0 as from every snapshot cut plus catch-up', async () => {
    const log = memoryLog();
    const { completedAt } = await writeSessionLog(log, { sessions: 6, itemsPerSession: 12, seed: 7 });
    const full = await foldAll(log);
    const events: RecordedEvent[] = [];
    for await (const event of log.readAll()) events.push(event);
    for (const cut of completedAt) {
      for (const projection of standardProjections()) {
        let state: unknown = projection.initial;
        for (const event of events) if (event.position <= cut) state = projection.evolve(state, event);
        // Through JSON text, as a snapshot travels through the log.
        state = projection.fromSnapshot(JSON.parse(JSON.stringify(projection.toSnapshot(state))));
        for (const event of events) if (event.position > cut) state = projection.evolve(state, event);
        expect(projectionStateHash(projection, state), `${projection.name} cut at ${cut}`).toBe(full.get(projection.name));
      }
    }
  });

  it('resumes from its newest checkpoint and reaches the same hashes as a rebuild', async () => {
    const log = memoryLog();
    const writer = await startProjections(log, { retention: 1 });
    await writeSessionLog(log, {
      sessions: 4,
      itemsPerSession: 10,
      seed: 3,
      afterSession: checkpointEachSession(writer),
    });
    // More events after the last checkpoint, so the resumed host must catch up.
    await log.append(streams.session(4), [newEvent('ItemRejected', { session: 4, peer: 0, itemHash: 'ab'.repeat(32), txid: 'cd'.repeat(32), reason: 'test' })]);
    await writer.stop();
    const expected = await foldAll(log);

    const counted = countingProjections();
    const resumed = await startProjections(log, { retention: 1, projections: counted.projections });
    expect(hashes(resumed)).toEqual(expected);
    for (const status of resumed.status()) expect(status.newestCheckpoint?.session, status.name).toBe(3);
    // Resumed from the checkpoint: only the events after it were folded (SnapshotTaken events + the rejection).
    expect(counted.evolved.get('ledger')).toBeLessThan(10);
    const rebuilt = await startProjections(log, { retention: 0 });
    expect(hashes(rebuilt)).toEqual(expected);
    await resumed.stop();
    await rebuilt.stop();
  });

  it('ignores a checkpoint of another version and rebuilds from the log', async () => {
    const log = memoryLog();
    const writer = await startProjections(log, { retention: 1 });
    const { completedAt } = await writeSessionLog(log, { sessions: 2, itemsPerSession: 6, seed: 5 });
    await writer.waitFor(completedAt.at(-1)!);
    await writer.checkpoint(1);
    await writer.stop();

    const v2: Projection<unknown> = { ...(sessionsProjection as Projection<unknown>), version: 2 };
    let folded = 0;
    // Counts the events folded one by one and in pages (sessions has an evolveBatch the host uses).
    const counting: Projection<unknown> = { ...v2, evolve: (s, e) => (folded++, v2.evolve(s, e)), evolveBatch: (s, events) => ((folded += events.length), evolveAll(v2, s, events)) };
    const skipped: string[] = [];
    const host = await startProjections(log, { retention: 1, projections: [counting], onSnapshotSkipped: (name, skip) => skipped.push(`${name}: ${skip.reason}`) });
    expect(skipped).toEqual(['sessions: version 1, this code is version 2']);
    expect(host.status()[0]!.newestCheckpoint).toBeUndefined();
    expect(folded).toBeGreaterThan(12); // every event of the log, not just the tail
    expect(sessionCount(host.state(counting) as never)).toBe(2);
    await host.stop();
  });

  it('keeps the newest `retention` checkpoints: older ones are never loaded, 0 takes none', async () => {
    const log = memoryLog();
    const writer = await startProjections(log, { retention: 2, projections: [ledgerProjection] });
    await writeSessionLog(log, {
      sessions: 3,
      itemsPerSession: 4,
      seed: 9,
      afterSession: checkpointEachSession(writer),
    });
    await writer.stop();
    // Spoil the two newest (a stored hash that does not match): with retention 2 the good third-newest must not be used.
    const good = (await readSnapshots(log, 'ledger')).at(-1)!;
    for (const session of [10, 11]) {
      await log.append(streams.checkpoint('ledger'), [newEvent('SnapshotTaken', { ...good, session, stateHash: '00'.repeat(32) })]);
    }
    const skipped: number[] = [];
    const host = await startProjections(log, { retention: 2, projections: [ledgerProjection], onSnapshotSkipped: (_, s) => skipped.push(s.session) });
    expect(skipped).toEqual([11, 10]);
    expect(host.status()[0]!.newestCheckpoint).toBeUndefined();
    const wider = await startProjections(log, { retention: 3, projections: [ledgerProjection] });
    expect(wider.status()[0]!.newestCheckpoint?.session).toBe(2);
    expect(projectionStateHash(ledgerProjection, wider.state(ledgerProjection))).toBe(projectionStateHash(ledgerProjection, host.state(ledgerProjection)));

    const none = await startProjections(log, { retention: 0, projections: [ledgerProjection] });
    const before = (await readSnapshots(log, 'ledger')).length;
    await none.checkpoint(12);
    expect((await readSnapshots(log, 'ledger')).length).toBe(before);
    await Promise.all([host.stop(), wider.stop(), none.stop()]);
  });

  it('appends one SnapshotTaken per projection per session, idempotently', async () => {
    const log = memoryLog();
    const host = await startProjections(log, { retention: 1 });
    const { completedAt } = await writeSessionLog(log, { sessions: 1, itemsPerSession: 3, seed: 2 });
    await host.waitFor(completedAt[0]!);
    await host.checkpoint(0);
    await host.checkpoint(0);
    for (const p of standardProjections()) {
      const snapshots = await readSnapshots(log, p.name);
      expect(snapshots.map((s) => [s.session, s.version, s.position]), p.name).toEqual([[0, p.version, completedAt[0]!.toString()]]);
    }
    await host.stop();
  });

  it('follows the log live: waitFor resolves once the event is folded, changes$ emits, abort rejects', async () => {
    const log = memoryLog();
    const host = await startProjections(log, { retention: 1 });
    const seen = lastValueFrom(host.changes$.pipe(take(3), toArray()));
    const { completedAt } = await writeSessionLog(log, { sessions: 1, itemsPerSession: 2, seed: 4 });
    await host.waitFor(completedAt[0]!);
    expect(sessionCount(host.state(sessionsProjection))).toBe(1);
    expect(host.position('sessions')).toBe(completedAt[0]);
    expect((await seen).map((c) => c.position)).toEqual([1n, 2n, 3n]);
    const controller = new AbortController();
    const waiting = host.waitFor(completedAt[0]! + 100n, controller.signal);
    controller.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    const beyond = host.waitFor(completedAt[0]! + 100n);
    await host.stop();
    await expect(beyond).rejects.toThrow('stopped');
  });

  it('stops with ProjectionFailedError when a projection throws', async () => {
    const log = memoryLog();
    const broken: Projection<number> = {
      name: 'broken',
      version: 1,
      initial: 0,
      evolve: (s, e) => {
        if (e.type === 'SessionCompleted') throw new Error('boom');
        return s + 1;
      },
      toSnapshot: (s) => s,
      fromSnapshot: (j) => j as number,
    };
    const host = await startProjections(log, { retention: 1, projections: [broken] });
    const errored = lastValueFrom(host.changes$).catch((e: unknown) => e);
    const { completedAt } = await writeSessionLog(log, { sessions: 1, itemsPerSession: 2, seed: 4 });
    await expect(host.waitFor(completedAt[0]!)).rejects.toBeInstanceOf(ProjectionFailedError);
    expect(await errored).toBeInstanceOf(ProjectionFailedError);
    // An operator sees where and why in the status (GET /v1/projections).
    const [status] = host.status();
    expect(status?.failed).toEqual({ position: (await errored as ProjectionFailedError).position.toString(), reason: 'boom' });
    await host.stop();
  });

  it('catches up with pages through evolveBatch, and locates a failure inside a page at its event', async () => {
    const log = memoryLog();
    const { completedAt } = await writeSessionLog(log, { sessions: 3, itemsPerSession: 700, seed: 9 });
    const pages: number[] = [];
    const counting: Projection<number> = {
      name: 'counting',
      version: 1,
      initial: 0,
      evolve: (s) => s + 1,
      evolveBatch: (s, events) => {
        pages.push(events.length);
        return s + events.length;
      },
      toSnapshot: (s) => s,
      fromSnapshot: (j) => j as number,
    };
    let count = 0;
    for await (const _ of log.readAll()) count++;
    const host = await startProjections(log, { retention: 0, projections: [counting] });
    expect(host.state(counting)).toBe(count);
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(count);
    await host.stop();

    const failAt = completedAt[1]!;
    const broken: Projection<number> = {
      ...counting,
      name: 'broken',
      evolve: (s, e) => {
        if (e.position === failAt) throw new Error('boom');
        return s + 1;
      },
      evolveBatch: (s, events) => {
        if (events.some((e) => e.position === failAt)) throw new Error('boom somewhere in the page');
        return s + events.length;
      },
    };
    const failure = await startProjections(log, { retention: 0, projections: [broken] }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProjectionFailedError);
    expect((failure as ProjectionFailedError).position).toBe(failAt);
    expect((failure as Error).message).toContain('boom');
  });

  it('folds the events of one live delivery as one page, and locates a failure inside it at its event', async () => {
    const log = memoryLog();
    const pages: number[][] = [];
    const fault: { at?: Position } = {};
    const counting: Projection<number> = {
      name: 'counting',
      version: 1,
      initial: 0,
      evolve: (s, e) => {
        if (e.position === fault.at) throw new Error('boom');
        return s + 1;
      },
      evolveBatch: (s, events) => {
        if (events.some((e) => e.position === fault.at)) throw new Error('boom somewhere in the page');
        pages.push(events.map((e) => Number(e.position)));
        return s + events.length;
      },
      toSnapshot: (s) => s,
      fromSnapshot: (j) => j as number,
    };
    const host = await startProjections(log, { retention: 0, projections: [counting] });
    const seen = lastValueFrom(host.changes$.pipe(take(5), toArray()));
    const rejected = (i: number) => newEvent('ItemRejected', { session: 0, peer: 0, itemHash: i.toString(16).padStart(64, '0'), reason: 'test' });
    // One append of five events: one delivery, one page.
    const appended = await log.append(streams.session(0), [0, 1, 2, 3, 4].map(rejected), { expectedRevision: 'noStream' });
    await host.waitFor(appended.position);
    expect(host.state(counting)).toBe(5);
    expect(pages).toEqual([[1, 2, 3, 4, 5]]);
    // changes$ still reports every position, in order.
    expect((await seen).map((c) => c.position)).toEqual([1n, 2n, 3n, 4n, 5n]);

    fault.at = appended.position + 2n;
    const failing = host.waitFor(appended.position + 3n);
    await log.append(streams.session(0), [5, 6, 7].map(rejected), { expectedRevision: appended.nextExpectedRevision });
    const failure = await failing.catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProjectionFailedError);
    expect((failure as ProjectionFailedError).position).toBe(fault.at);
    await host.stop();
  });

  it('counts as lag the events appended through the log that a stopped host did not fold', async () => {
    const log = countAppends(memoryLog());
    const host = await startProjections(log, { retention: 1, appended: log.appended });
    const { completedAt } = await writeSessionLog(log, { sessions: 1, itemsPerSession: 2, seed: 4 });
    await host.waitFor(completedAt[0]!);
    expect(host.status().map((s) => s.lag)).toEqual(standardProjections().map(() => 0));
    await host.stop();
    const rejected = (i: number) => newEvent('ItemRejected', { session: 1, peer: 0, itemHash: i.toString(16).padStart(64, '0'), reason: 'test' });
    await log.append(streams.session(1), [0, 1, 2].map(rejected));
    await log.append(streams.session(1), [3, 4].map(rejected));
    expect(host.status().map((s) => s.lag)).toEqual(standardProjections().map(() => 5));
  });

  it('counts from the end of its catch-up: a restarted host over an existing log starts at lag 0', async () => {
    const log = countAppends(memoryLog());
    await writeSessionLog(log, { sessions: 2, itemsPerSession: 3, seed: 5 });
    const host = await startProjections(log, { retention: 0, appended: log.appended });
    expect(host.status().map((s) => s.lag)).toEqual(standardProjections().map(() => 0));
    await host.stop();
  });
});

function countingProjections(): { projections: AnyProjection[]; evolved: Map<string, number> } {
  const evolved = new Map<string, number>();
  const projections = standardProjections().map((p) => ({
    ...p,
    evolve: (state: unknown, event: RecordedEvent) => {
      evolved.set(p.name, (evolved.get(p.name) ?? 0) + 1);
      return p.evolve(state, event);
    },
    // Counted per event either way: the host folds catch-up pages through evolveBatch where there is one.
    ...(p.evolveBatch === undefined
      ? {}
      : {
          evolveBatch: (state: unknown, events: readonly RecordedEvent[]) => {
            evolved.set(p.name, (evolved.get(p.name) ?? 0) + events.length);
            return p.evolveBatch!(state, events);
          },
        }),
  }));
  return { projections, evolved };
}
