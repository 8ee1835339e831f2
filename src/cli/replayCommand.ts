/**
 * `fedlog replay`: the projections' replay over a guardian's log, with a progress bar. Exits
 * non-zero on any header, signature or snapshot mismatch, so it can gate a restore.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { consensusConfig, loadGuardianConfig } from '../consensus/config.ts';
import { logLocation } from '../consensus/guardian.ts';
import { estimateEventCount, replay, type ReplayProblem, type ReplayReport } from '../projections/replay/replay.ts';
import { standardProjections } from '../projections/standardProjections.ts';
import type { EventLog } from '../streams/eventLog.ts';
import { isEvent, streams, type FederationConfigured } from '../streams/events.ts';
import { openEventLog, type EventLogLocation } from '../streams/openEventLog.ts';
import { sqliteIntegrityProblems } from '../streams/sqliteIntegrity.ts';

export type ReplayThreads = '1' | '2' | 'auto';

/**
 * Where two threads start to pay (measured on prefixes of the bench's log): the worker first loads
 * its code, and the calling thread relays what it reads to it, so below this one thread finishes sooner.
 */
export const PARALLEL_FROM = 40_000;

export interface ReplayCommandOptions {
  data: string;
  /** true: the newest session every projection has a checkpoint of; a number: that session. */
  fromCheckpoint?: boolean | number;
  json?: boolean;
  /** 2: a worker thread takes part of the work (not for a memory log); auto (default): 2 from PARALLEL_FROM events. */
  threads?: ReplayThreads;
  /** Where the human report goes (default stdout). */
  print?: (line: string) => void;
}

/** The newest session at which every projection has a checkpoint, if any. */
async function newestCommonCheckpoint(log: EventLog): Promise<number | undefined> {
  let common: number | undefined;
  for (const projection of standardProjections()) {
    const [newest] = await log.readStream(streams.checkpoint(projection.name), { direction: 'backwards', maxCount: 1 });
    if (newest === undefined || !isEvent(newest, 'SnapshotTaken')) return undefined;
    common = common === undefined ? newest.data.session : Math.min(common, newest.data.session);
  }
  return common;
}

/**
 * SQLite's full integrity check of a log file (a replay reads by position, never through the
 * events index a guardian reads its streams by), as replay problems naming the file.
 */
export function fileProblems(location: EventLogLocation): ReplayProblem[] {
  if (location.kind !== 'sqlite' || location.path === ':memory:') return [];
  return sqliteIntegrityProblems(location.path, 'full').map((line) => ({ kind: 'file', detail: `${location.path}: ${line}` }));
}

/**
 * The log of a guardian data directory: its config's, or a bare log.sqlite (also used by `fedlog
 * verify --data`); with a config, the FederationConfigured it gives, to name what an edit of the log changed.
 */
export function locate(data: string): { location: EventLogLocation; guardian: number; configured?: FederationConfigured } {
  const configFile = join(data, 'config.json');
  if (existsSync(configFile)) {
    const config = loadGuardianConfig(configFile);
    return { location: logLocation(config), guardian: config.peer, configured: consensusConfig(config) };
  }
  const file = join(data, 'log.sqlite');
  if (!existsSync(file)) throw new Error(`no config.json or log.sqlite in ${data}`);
  return { location: { kind: 'sqlite', path: file }, guardian: 0 };
}

export async function runReplay(options: ReplayCommandOptions): Promise<boolean> {
  const print = options.print ?? ((line: string) => console.log(line));
  const { location, guardian, configured } = locate(options.data);
  const damaged = fileProblems(location);
  const log = await openEventLog(location, { guardian });
  let report: ReplayReport;
  // CPU of every thread of this process over the replay (process.cpuUsage is process-wide): on a
  // shared machine a steadier figure than the wall time, and what two threads cost together. Taken
  // over the same span as the report's durationMs (not the log's closing).
  let cpuMs: number;
  const bar = new cliProgress.SingleBar(
    { format: 'replay [{bar}] {percentage}% | {value}/{total} events | {rate} events/s', stream: process.stderr, hideCursor: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  try {
    const fromCheckpoint = options.fromCheckpoint === true ? await newestCommonCheckpoint(log) : options.fromCheckpoint === false ? undefined : options.fromCheckpoint;
    if (options.fromCheckpoint === true && fromCheckpoint === undefined) print('no checkpoint common to every projection: replaying from position 0');
    // From the federation and session streams only: the newest event of a checkpoint stream is a
    // whole snapshot (megabytes to read), and at most one checkpoint's events can follow the last
    // session's (the progress bar's total then grows by those few).
    const estimate = await estimateEventCount(log, []);
    const total = estimate ?? 0;
    const threads = options.threads ?? 'auto';
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const showBar = !options.json && process.stderr.isTTY;
    if (showBar) bar.start(total, 0, { rate: 0 });
    report = await replay(log, {
      ...(configured === undefined ? {} : { configured }),
      ...(fromCheckpoint === undefined ? {} : { fromCheckpoint }),
      ...(estimate === undefined ? {} : { total: estimate }),
      ...(threads === '2' || (threads === 'auto' && total >= PARALLEL_FROM) ? { parallel: { location, guardian } } : {}),
      onProgress: (p) => {
        if (!showBar) return;
        if (p.total !== undefined && p.total > total) bar.setTotal(p.total);
        bar.update(p.events, { rate: Math.round(p.events / Math.max((performance.now() - started) / 1000, 0.001)).toLocaleString('en-US') });
      },
    });
    const used = process.cpuUsage(cpuBefore);
    cpuMs = (used.user + used.system) / 1000;
    if (showBar) bar.stop();
  } finally {
    await log.close();
  }
  if (damaged.length > 0) report = { ...report, problems: [...damaged, ...report.problems], ok: false };
  if (options.json) {
    print(JSON.stringify({ ...report, from: report.from.toString(), cpuMs }));
    return report.ok;
  }
  const rate = report.events / Math.max(report.durationMs / 1000, 0.001);
  print(`replayed ${report.events.toLocaleString('en-US')} events from position ${report.from} in ${(report.durationMs / 1000).toFixed(2)} s (${Math.round(rate).toLocaleString('en-US')} events/s; ${(cpuMs / 1000).toFixed(2)} CPU-seconds on all threads)`);
  print(`sessions verified ${report.sessions}, header mismatches ${report.headerMismatches}, signature failures ${report.signatureFailures}, snapshots checked ${report.snapshotsChecked}, snapshot mismatches ${report.snapshotMismatches}`);
  for (const p of report.projections) print(`  ${p.name.padEnd(14)} v${p.version}  position ${p.position.padStart(10)}  state ${p.stateHash.slice(0, 16)}…`);
  for (const problem of report.problems.slice(0, 20)) print(`  PROBLEM ${JSON.stringify(problem)}`);
  if (report.problems.length > 20) print(`  … and ${report.problems.length - 20} more problems`);
  print(report.ok ? 'replay OK: no mismatch' : 'replay FAILED');
  return report.ok;
}
