import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventLog } from '../../src/streams/eventLog.ts';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedlog-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const adapters: Array<[string, () => EventLog]> = [
  ['sqlite', () => createSqliteEventLog(join(dir, `log-${files++}.sqlite`))],
  ['memory', () => createMemoryEventLog()],
];

describe.each(adapters)('readStreamText (%s)', (_, open) => {
  it('gives readStream\'s events with the data as the stored JSON text, in the same order and range', async () => {
    const log = open();
    await log.append('s', [{ type: 'T', data: { b: 1, a: [2, 'x'] }, metadata: { schemaVersion: 1 } }, { type: 'T', data: 'two' }, { type: 'U', data: null }]);
    await log.append('other', [{ type: 'T', data: 0 }]);
    const text = await log.readStreamText!('s');
    const parsed = await log.readStream('s');
    expect(text.map((e) => e.data)).toEqual(['{"b":1,"a":[2,"x"]}', '"two"', 'null']);
    expect(text.map((e) => ({ ...e, data: JSON.parse(e.data) as unknown }))).toEqual(parsed);
    const back = await log.readStreamText!('s', { direction: 'backwards', fromRevision: 1, maxCount: 1 });
    expect(back.map((e) => [e.revision, e.data])).toEqual([[1, '"two"']]);
    expect(await log.readStreamText!('none')).toEqual([]);
    await log.close();
  });

  it('passes through the schema decorator unchecked (the caller validates what it takes), and is absent where the adapter has none', async () => {
    const raw = open();
    await raw.append('s', [{ type: 'NotAFedlogType', data: { any: 'thing' } }]);
    const checked = withEventSchemas(raw, { guardian: 0 });
    expect((await checked.readStreamText!('s')).map((e) => [e.type, e.data])).toEqual([['NotAFedlogType', '{"any":"thing"}']]);
    await expect(checked.readStream('s')).rejects.toThrow(/unknown event type/);
    const { readStreamText: _, ...withoutText } = raw;
    expect(withEventSchemas(withoutText as EventLog, { guardian: 0 }).readStreamText).toBeUndefined();
    await raw.close();
  });
});
