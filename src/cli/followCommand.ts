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
import { startClusterReplica, type ClusterLocation } from '../replica/clusterReplica.ts';
import { startReplica } from '../replica/replica.ts';
import { stopOnSignals } from './guardianProcess.ts';

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
  if (options.streamPrefix === undefined) throw new InvalidArgumentError("--log needs --stream-prefix: the guardian's, as its config's log.streamPrefix (fed-<tag>/guardian-<i>/)");
  if (options.keys === undefined) throw new InvalidArgumentError('--log needs --keys <file>: a cluster replica pins nothing, so the keys it trusts must be given');
  if (options.data !== undefined) throw new InvalidArgumentError('--data is for --from: a cluster replica keeps nothing of its own');
  // The guardian config's own rules for a cluster log; a prefix given without its final '/' gets it.
  const prefix = options.streamPrefix.endsWith('/') ? options.streamPrefix : `${options.streamPrefix}/`;
  const parsed = guardianConfigSchema.shape.log.safeParse({ kind: 'eventstoredb', url: options.log, streamPrefix: prefix });
  if (!parsed.success || parsed.data.kind !== 'eventstoredb') throw new InvalidArgumentError(parsed.success ? 'not a cluster log' : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  return { mode: 'cluster', location: parsed.data, keysFile: options.keys };
}

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
  console.log(`replica of ${source} serving ${replica.url}, ${replica.status().sessions} sessions recorded`);
  const stopped = new Promise<void>((resolve) => stopOnSignals(async () => resolve(await replica.stop())));
  // A refusal is the operator's to see; the verified sessions stay served until the replica is stopped.
  replica.following.catch((error: unknown) => {
    console.error(`fedlog follow: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
  await stopped;
  console.log('replica stopped');
}
