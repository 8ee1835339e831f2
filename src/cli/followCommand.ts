/**
 * `fedlog follow`: a read-only replica for analysts, in one of two modes. Over HTTP (`--from <guardian
 * API> --data <dir>`) it pulls signed outcomes into a log of its own; with a guardian whose log is in
 * an EventStoreDB cluster (`--log esdb://... --stream-prefix <the guardian's prefix> --keys <file>`)
 * it reads the guardian's streams there, read-only. The cluster options are the guardian config's
 * `log: { kind: 'eventstoredb', url, streamPrefix }`, checked by the same schema.
 */
import { Command, InvalidArgumentError } from 'commander';
import { guardianConfigSchema } from '../consensus/config.ts';
import pino from 'pino';
import { catchUpProgress, type CatchUpReport } from '../replica/catchUpProgress.ts';
import { startClusterReplica, type ClusterLocation } from '../replica/clusterReplica.ts';
import { readKeysFile } from '../replica/pinnedFederation.ts';
import { startReplica } from '../replica/replica.ts';
import { counts, rates, stopOnSignals } from './guardianProcess.ts';

export type FollowTarget =
  | { mode: 'guardian'; from: string; dataDir: string; keysFile?: string }
  | { mode: 'cluster'; location: ClusterLocation; keysFile: string };

export interface FollowOptions {
  target: FollowTarget;
  port: number;
  host: string;
  logLevel: string;
}

interface ParsedOptions {
  from?: string;
  data?: string;
  log?: string;
  streamPrefix?: string;
  guardian?: number;
  keys?: string;
  port: number;
  host: string;
  logLevel: string;
}

/** What to follow, from the parsed options; a combination that names no one source is a usage error. */
export function followTarget(options: Omit<ParsedOptions, 'port' | 'host' | 'logLevel'>): FollowTarget {
  if ((options.from === undefined) === (options.log === undefined)) throw new InvalidArgumentError('follow a guardian through its API (--from) or its log in a cluster (--log), one of the two');
  if (options.from !== undefined) {
    if (options.data === undefined) throw new InvalidArgumentError('--from needs --data <dir>: the replica keeps its own log there');
    return { mode: 'guardian', from: options.from, dataDir: options.data, ...(options.keys === undefined ? {} : { keysFile: options.keys }) };
  }
  if ((options.streamPrefix === undefined) === (options.guardian === undefined)) throw new InvalidArgumentError("--log needs the guardian's stream prefix: --stream-prefix (its config's log.streamPrefix) or --guardian <i> (as fedlog init names it), one of the two");
  if (options.keys === undefined) throw new InvalidArgumentError('--log needs --keys <file>: a cluster replica pins nothing, so the keys it trusts must be given');
  if (options.data !== undefined) throw new InvalidArgumentError('--data is for --from: a cluster replica keeps nothing of its own');
  const given = options.streamPrefix ?? initStreamPrefix(options.keys, options.guardian!);
  // The guardian config's own rules for a cluster log; a prefix given without its final '/' gets it.
  const prefix = given.endsWith('/') ? given : `${given}/`;
  const parsed = guardianConfigSchema.shape.log.safeParse({ kind: 'eventstoredb', url: options.log, streamPrefix: prefix });
  if (!parsed.success || parsed.data.kind !== 'eventstoredb') throw new InvalidArgumentError(parsed.success ? 'not a cluster log' : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  return { mode: 'cluster', location: parsed.data, keysFile: options.keys };
}

/**
 * The prefix `fedlog init --log` gives guardian i: fed-<first 8 hex of guardian 0's key>/guardian-<i>/
 * (initCommand.ts; test/deploy/compose.unit.spec.ts holds the two together).
 */
function initStreamPrefix(keysFile: string, guardian: number): string {
  const first = readKeysFile(keysFile)['0'];
  if (first === undefined) throw new InvalidArgumentError(`--guardian: ${keysFile} names no guardian 0, whose key tags the federation's streams`);
  return `fed-${first.slice(0, 8)}/guardian-${guardian}/`;
}

const guardianIndex = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new InvalidArgumentError('expected a guardian index (0, 1, ...)');
  return n;
};

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('expected a port number');
  return n;
};

/** The command; `run` starts the replica (tests pass their own to see what the options resolve to). */
export function followCommand(run: (options: FollowOptions) => Promise<void> = runFollow): Command {
  return new Command('follow')
    .description("a read-only replica for analysts: follows a guardian's completed sessions (through its API, or its log in the EventStoreDB cluster), checks every session against the federation keys and serves the analyst API (no submission, no admin)")
    .option('--from <url>', "the followed guardian's API, e.g. http://127.0.0.1:8174")
    .option('--data <dir>', "with --from: the replica's data directory (its log, and the federation pinned on first start)")
    .option('--log <esdb-url>', "instead of --from: the EventStoreDB cluster holding the guardian's log (esdb://...), read there read-only")
    .option('--stream-prefix <prefix>', "with --log: the guardian's stream prefix (its config's log.streamPrefix)")
    .option('--guardian <i>', 'with --log, instead of --stream-prefix: guardian i of the federation the keys name, under the prefix fedlog init gives it', guardianIndex)
    .option('--port <port>', 'API port of the replica', port, 8274)
    .option('--host <address>', 'address the replica listens on', '127.0.0.1')
    .option('--keys <file>', 'federation keys to trust ({ "<peer>": "<x-only key hex>" } or a saved /v1/federation answer); with --from on first start (default: the guardian\'s, pinned), required with --log')
    .option('--log-level <level>', 'pino level for the JSON logs on stderr', 'info')
    .action(async (options: ParsedOptions) => {
      await run({ target: followTarget(options), port: options.port, host: options.host, logLevel: options.logLevel });
    });
}

async function runFollow({ target, port, host, logLevel }: FollowOptions): Promise<void> {
  const logger = pino({ name: 'replica', level: logLevel }, pino.destination(2));
  const replica =
    target.mode === 'guardian'
      ? await startReplica({ from: target.from, dataDir: target.dataDir, port, host, logger, ...(target.keysFile === undefined ? {} : { keysFile: target.keysFile }) })
      : await startClusterReplica({ location: target.location, keysFile: target.keysFile, port, host, logger });
  const source = target.mode === 'guardian' ? `${target.from} (data ${target.dataDir})` : `${target.location.url} streams ${target.location.streamPrefix}`;
  // The handler first: a SIGTERM sent on reading the serving line must find it.
  const stopped = new Promise<void>((resolve) => stopOnSignals(async () => resolve(await replica.stop())));
  console.log(`replica of ${source} serving ${replica.url}, ${replica.status().sessions} sessions recorded`);
  // A refusal is the operator's to see; the verified sessions stay served until the replica is stopped.
  replica.following.catch((error: unknown) => {
    console.error(`fedlog follow: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
  const progress = catchUpProgress();
  const ticks = setInterval(() => {
    const report = progress(replica.status(), Date.now());
    if (report !== undefined) console.log(catchUpLine(report));
  }, PROGRESS_MS);
  await stopped;
  clearInterval(ticks);
  console.log('replica stopped');
}

const PROGRESS_MS = 10_000;

/** One line on stdout for the operator: how far a catching-up replica is, and when it will be there. */
export function catchUpLine(report: CatchUpReport): string {
  if (report.kind === 'caughtUp') return `caught up: ${counts.format(report.sessions)} sessions recorded`;
  const of = `catching up: ${counts.format(report.sessions)} of ${counts.format(report.guardianSessions)} sessions recorded`;
  if (report.sessionsPerSecond === undefined) return of;
  if (report.secondsLeft === undefined) return `${of} (no progress since the last line)`;
  return `${of} (${rates.format(report.sessionsPerSecond)} sessions/s, about ${duration(report.secondsLeft)} left)`;
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
