import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { projectionStateHash } from '../../src/projections/projection.ts';
import { startProjections } from '../../src/projections/projectionHost.ts';
import { readSignedSessionOutcome } from '../../src/projections/signedOutcomes.ts';
import { standardProjections } from '../../src/projections/standardProjections.ts';
import { startClusterReplica, type ClusterLocation, type ClusterReplica } from '../../src/replica/clusterReplica.ts';
import { OutcomeRefusedError } from '../../src/replica/outcomeImport.ts';
import { FederationMismatchError } from '../../src/replica/pinnedFederation.ts';
import type { EventLog, Position, RecordedEvent } from '../../src/streams/eventLog.ts';
import { eventStoreDbLogOver } from '../../src/streams/eventStoreDb.ts';
import { isEvent, newEvent } from '../../src/streams/events.ts';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { ReadOnlyLogError } from '../../src/streams/readOnlyLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { writeSessionLog, type SessionLogSummary } from '../projections/sessionLogFixture.ts';
import { createFakeEventStoreDb, type FakeEventStoreDb } from '../streams/eventStoreDbFakeClient.ts';

/**
 * A cluster replica over the guardian's streams in an (emulated) EventStoreDB cluster: it follows
 * the sessions the guardian writes, through the log's subscription, and serves them; it refuses,
 * and stops at, a session a threshold of the trusted keys did not sign; it never writes there.
 * The guardian's writes are a seeded fixture log (real signed sessions), copied into the cluster
 * a few sessions at a time while the replica runs.
 */

const PREFIX = 'fed-0a1b2c3d/guardian-0/';
const LOCATION: ClusterLocation = { kind: 'eventstoredb', url: 'esdb://node1:2113,node2:2113?tls=false', streamPrefix: PREFIX };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Cluster {
  fake: FakeEventStoreDb;
  /** The guardian's log in the cluster. */
  guardianLog: EventLog;
  /** The seeded log the guardian's writes are copied from. */
  fixture: { log: EventLog; summary: SessionLogSummary; events: RecordedEvent[] };
  keysFile: string;
  /** Copies the fixture's events up to and including `upTo` into the cluster, `edit` applied to each. */
  write(upTo: Position, edit?: (event: RecordedEvent) => unknown): Promise<void>;
  start(options?: { keysFile?: string }): Promise<ClusterReplica>;
}

async function cluster(seed: number, sessions = 5): Promise<Cluster> {
  const fake = createFakeEventStoreDb({ systemEventEvery: 3 });
  const guardianLog = withEventSchemas(eventStoreDbLogOver(fake.client, { streamPrefix: PREFIX }), { guardian: 0 });
  const fixtureLog = withEventSchemas(createMemoryEventLog(), { guardian: 0 });
  const summary = await writeSessionLog(fixtureLog, { sessions, itemsPerSession: 6, seed });
  const events: RecordedEvent[] = [];
  for await (const event of fixtureLog.readAll()) events.push(event);
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-cluster-replica-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const keysFile = join(dir, 'federation.json');
  writeFileSync(keysFile, JSON.stringify(summary.federation.keys));
  let copied = 0;
  return {
    fake,
    guardianLog,
    fixture: { log: fixtureLog, summary, events },
    keysFile,
    async write(upTo, edit = (event) => event.data) {
      for (const event of events.slice(copied)) {
        if (event.position > upTo) break;
        await guardianLog.append(event.stream, [{ type: event.type, data: edit(event), metadata: event.metadata }]);
        copied += 1;
      }
    },
    async start(options = {}) {
      const replica = await startClusterReplica({
        location: LOCATION,
        keysFile: options.keysFile ?? keysFile,
        port: 0,
        headPollMs: 20,
        logger: pino({ level: 'silent' }),
        // The replica's own client of the same cluster, as a separate process would have.
        openLog: async (location) => withEventSchemas(eventStoreDbLogOver(fake.client, { streamPrefix: location.streamPrefix!, resubscribeDelayMs: 1 }), { guardian: 0 }),
      });
      cleanups.push(() => replica.stop());
      return replica;
    },
  };
}

const get = async (url: string) => (await fetch(url)).json() as Promise<Record<string, unknown>>;

describe('a cluster replica (fedlog follow --log esdb://...)', () => {
  it("follows the guardian's sessions as they are written and serves what the guardian would", async () => {
    const setup = await cluster(31);
    const { completedAt } = setup.fixture.summary;
    // The guardian is inside session 2 when the replica starts: its items so far are not served.
    await setup.write(completedAt[1]! + 3n);
    const replica = await setup.start();
    expect(replica.status()).toMatchObject({ mode: 'cluster', sessions: 2 });
    expect(await get(`${replica.url}/v1/sessions/count`)).toEqual({ count: 2 });

    await setup.write(completedAt.at(-1)!);
    await vi.waitFor(() => expect(replica.status()).toMatchObject({ sessions: 5, guardianSessions: 5, lagSessions: 0, state: 'caughtUp' }));
    expect(await get(`${replica.url}/v1/replica`)).toMatchObject({ mode: 'cluster', state: 'caughtUp', sessions: 5, lagSessions: 0, keysFrom: 'keys file' });
    const signed = await get(`${replica.url}/v1/sessions/4/signed`);
    const recorded = (await readSignedSessionOutcome(setup.fixture.log, 4))!;
    expect(signed).toMatchObject({ session: 4, header: recorded.header, signatures: recorded.signatures });

    // Every read model is the guardian's, hash for hash.
    const guardian = await startProjections(setup.fixture.log, { retention: 0 });
    await vi.waitFor(() => {
      for (const projection of standardProjections()) {
        expect(projectionStateHash(projection, replica.projections.state(projection)), projection.name).toBe(projectionStateHash(projection, guardian.state(projection)));
      }
    });
    await guardian.stop();
  });

  it('stops following at a session the trusted keys did not sign, and still serves the ones before it', async () => {
    const setup = await cluster(32);
    const { completedAt } = setup.fixture.summary;
    await setup.write(completedAt[1]!);
    const replica = await setup.start();
    // Session 2 as a guardian might forge it: its completion without the federation's signature.
    await setup.write(completedAt.at(-1)!, (event) => (isEvent(event, 'SessionCompleted') && event.data.session === 2 ? { ...event.data, signatures: {} } : event.data));
    const refusal = await replica.following.catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OutcomeRefusedError);
    const reason = "session 2: refused the guardian's signed outcome: only 0 of the 1 signatures needed verify against the federation keys";
    expect((refusal as Error).message).toBe(reason);
    expect(await get(`${replica.url}/v1/replica`)).toMatchObject({ mode: 'cluster', state: 'refused', sessions: 2, error: reason });
    expect(await get(`${replica.url}/v1/sessions/count`)).toEqual({ count: 2 });
    expect((await fetch(`${replica.url}/v1/sessions/2/signed`)).status).toBe(404);
    expect((await fetch(`${replica.url}/v1/sessions/3/signed`)).status).toBe(404);
    expect(replica.projections.status()[0]!.failed?.reason).toBe(`the log subscription failed: ${reason}`);
    expect(await (await fetch(`${replica.url}/metrics`)).text()).toContain('fedlog_replica_state{state="refused"} 1');
  });

  it('refuses an item edited under a real signature already in the log when it starts', async () => {
    const setup = await cluster(33, 3);
    const { completedAt } = setup.fixture.summary;
    // Session 1's first item is attributed to another peer: the leaf, and so the header, change.
    await setup.write(completedAt.at(-1)!, (event) => (isEvent(event, 'ItemAccepted') && event.data.session === 1 && event.data.index === 0 ? { ...event.data, peer: 1 } : event.data));
    const replica = await setup.start();
    expect(replica.status()).toMatchObject({ state: 'refused', sessions: 1, error: "session 1: refused the guardian's signed outcome: item 0 is attributed to peer 1, who is not in the federation" });
    await expect(replica.following).rejects.toBeInstanceOf(OutcomeRefusedError);
    expect(await get(`${replica.url}/v1/sessions/count`)).toEqual({ count: 1 });
  });

  it("refuses every write to the guardian's streams, through its log and through its API", async () => {
    const setup = await cluster(34, 2);
    await setup.write(setup.fixture.summary.completedAt.at(-1)!);
    const appends = setup.fake.appendCalls();
    const replica = await setup.start();
    await expect(replica.log.append('session-2', [newEvent('ItemRejected', { session: 2, peer: 0, itemHash: '00'.repeat(32), reason: 'forged' })])).rejects.toBeInstanceOf(ReadOnlyLogError);
    await expect(replica.log.deleteStream!('session-0')).rejects.toThrow('deleteStream session-0: this log is opened read-only');
    const submitted = await fetch(`${replica.url}/v1/transactions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx: '00' }) });
    expect(submitted.status).toBe(403);
    expect(setup.fake.appendCalls()).toBe(appends);
    expect(await setup.guardianLog.readStream('session-0')).toHaveLength(setup.fixture.events.filter((e) => e.stream === 'session-0').length);
  });

  it('refuses to start when the log records another federation than the trusted keys', async () => {
    const setup = await cluster(35, 1);
    await setup.write(setup.fixture.summary.completedAt.at(-1)!);
    const otherKeys = join(tmpdir(), `fedlog-other-keys-${process.pid}.json`);
    writeFileSync(otherKeys, JSON.stringify({ '0': '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798' }));
    cleanups.push(() => rmSync(otherKeys, { force: true }));
    await expect(setup.start({ keysFile: otherKeys })).rejects.toBeInstanceOf(FederationMismatchError);
  });
});
