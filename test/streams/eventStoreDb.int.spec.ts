import { randomUUID } from 'node:crypto';
import { describe } from 'vitest';
import { createEventStoreDbLog } from '../../src/streams/eventStoreDb.ts';
import { describeEventLogContract } from './eventLogContract.ts';

/**
 * The shared EventLog contract against a real EventStoreDB node or cluster, e.g.
 *   docker compose up -d node1 node2 node3
 *   FEDLOG_ESDB_URL='esdb://localhost:2113?tls=false' npx vitest run test/streams/eventStoreDb.int.spec.ts
 * The suite only writes uniquely named streams and reads after positions it wrote, so a shared,
 * non-empty database is fine. Without FEDLOG_ESDB_URL it is skipped (no server runs in CI);
 * the adapter's logic is still covered there by eventStoreDbAdapter.unit.spec.ts over an emulated server.
 */
const url = process.env.FEDLOG_ESDB_URL;

if (url === undefined || url === '') {
  console.log(
    '[eventstoredb] contract suite SKIPPED: FEDLOG_ESDB_URL is not set, so there is no EventStoreDB server to test against. ' +
      "Set it (e.g. FEDLOG_ESDB_URL='esdb://localhost:2113?tls=false') to run the suite against a real node or cluster.",
  );
}

describe.skipIf(url === undefined || url === '')('EventStoreDB adapter against a real server', () => {
  describeEventLogContract('eventstoredb', async () => createEventStoreDbLog(url!));
  const run = randomUUID().slice(0, 8);
  let tenants = 0;
  describeEventLogContract('eventstoredb, stream prefix', async () =>
    createEventStoreDbLog(url!, { streamPrefix: `fedlog-test-${run}-${tenants++}/` }),
  );
});
