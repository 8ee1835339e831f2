/**
 * SQLite's own check of a log file, on a read-only connection of its own. The log reads by
 * position (the table) and by stream (the `(stream, revision)` index): a damaged index page is
 * invisible to a reader of positions, such as replay, yet gives a guardian the wrong events of a
 * stream. `quick` (PRAGMA quick_check) reads every page once and checks its structure; `full`
 * (PRAGMA integrity_check) also checks that the index holds exactly the table's rows.
 */
import Database from 'better-sqlite3';

export type SqliteCheckDepth = 'quick' | 'full';

/** Most problem lines SQLite is asked for: enough to say what is wrong, not a page-by-page dump. */
const MAX_LINES = 10;

/** SQLite's findings about the file at `path`, one line each; empty when it is sound. */
export function sqliteIntegrityProblems(path: string, depth: SqliteCheckDepth): string[] {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const rows = db.pragma(`${depth === 'quick' ? 'quick_check' : 'integrity_check'}(${MAX_LINES})`) as Array<Record<string, unknown>>;
    const lines = rows.map((row) => String(Object.values(row)[0]));
    return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
  } catch (error) {
    // A file damaged where SQLite cannot even start its check ("database disk image is malformed").
    return [`SQLite cannot check it: ${error instanceof Error ? error.message : String(error)}`];
  } finally {
    db?.close();
  }
}
