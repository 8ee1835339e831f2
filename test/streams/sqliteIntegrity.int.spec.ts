import { closeSync, cpSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteIntegrityProblems } from '../../src/streams/sqliteIntegrity.ts';
import { writeDataDir } from '../cli/verifyFixture.ts';
import { damageEventsIndex } from '../consensus/startupChecksFixture.ts';

const dirs: string[] = [];
let sound: string;
beforeAll(async () => {
  const fixture = await writeDataDir(2, 8, 3);
  dirs.push(fixture.dir);
  sound = join(fixture.dir, 'log.sqlite');
});
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function copyOfLog(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-sqlite-integrity-'));
  dirs.push(dir);
  const path = join(dir, 'log.sqlite');
  cpSync(sound, path);
  return path;
}

describe("SQLite's check of a log file", () => {
  it('finds nothing wrong with a sound file, at either depth', () => {
    expect(sqliteIntegrityProblems(sound, 'quick')).toEqual([]);
    expect(sqliteIntegrityProblems(sound, 'full')).toEqual([]);
  });

  it('sees a damaged key of the events index only at full depth (the index is not compared with the table by quick_check)', () => {
    const path = copyOfLog();
    damageEventsIndex(path);
    expect(sqliteIntegrityProblems(path, 'quick')).toEqual([]);
    expect(sqliteIntegrityProblems(path, 'full').join('\n')).toMatch(/row \d+ missing from index sqlite_autoindex_events_1/);
  });

  it('sees a damaged page header at either depth', () => {
    const path = copyOfLog();
    // Page 3 is the events index's root (after the schema and the table's): its first byte is the page type.
    const fd = openSync(path, 'r+');
    const type = Buffer.alloc(1);
    readSync(fd, type, 0, 1, 2 * 4096);
    writeSync(fd, Buffer.of(type[0]! ^ 0x5a), 0, 1, 2 * 4096);
    closeSync(fd);
    for (const depth of ['quick', 'full'] as const) expect(sqliteIntegrityProblems(path, depth).join('\n')).toMatch(/page 3|malformed/);
  });

  it('says when a file cannot be checked at all', () => {
    expect(sqliteIntegrityProblems(join(tmpdir(), 'fedlog-no-such-log.sqlite'), 'quick')).toEqual([expect.stringMatching(/^SQLite cannot check it: /)]);
  });
});
