import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';
import { describeDeleteStreamContract } from './deleteStreamContract.ts';
import { describeEventLogContract } from './eventLogContract.ts';
import { describeTruncateStreamContract } from './truncateStreamContract.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedlog-contract-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeEventLogContract('memory', async () => createMemoryEventLog(), { readAllPages: true });
describeEventLogContract('sqlite file', async () => createSqliteEventLog(join(dir, `log-${files++}.sqlite`)), { readAllPages: true });
describeEventLogContract('sqlite file, committing on the calling thread', async () => createSqliteEventLog(join(dir, `log-${files++}.sqlite`), { commitOn: 'callingThread' }), { readAllPages: true });
describeEventLogContract('sqlite :memory:', async () => createSqliteEventLog(':memory:'), { readAllPages: true });

// deleteStream is optional: every adapter above implements it, through the writer thread too.
describeDeleteStreamContract('memory', async () => createMemoryEventLog());
describeDeleteStreamContract('sqlite file, committing on the writer thread', async () => createSqliteEventLog(join(dir, `log-${files++}.sqlite`), { commitOn: 'writerThread' }));
describeDeleteStreamContract('sqlite file, committing on the calling thread', async () => createSqliteEventLog(join(dir, `log-${files++}.sqlite`), { commitOn: 'callingThread' }));
describeDeleteStreamContract('sqlite :memory:', async () => createSqliteEventLog(':memory:'));

// truncateStream is optional too (checkpoint retention); the same adapters implement it.
describeTruncateStreamContract('memory', async () => createMemoryEventLog());
describeTruncateStreamContract('sqlite file, committing on the writer thread', async () => createSqliteEventLog(join(dir, `log-${files++}.sqlite`), { commitOn: 'writerThread' }));
describeTruncateStreamContract('sqlite file, committing on the calling thread', async () => createSqliteEventLog(join(dir, `log-${files++}.sqlite`), { commitOn: 'callingThread' }));
describeTruncateStreamContract('sqlite :memory:', async () => createSqliteEventLog(':memory:'));
