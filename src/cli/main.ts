/**
 * The `fedlog` command (DESIGN.md, "CLI"). Each subcommand lives in its own file; this one only
 * wires commander to them and turns failures into a message and a non-zero exit code.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadGuardianConfig } from '../consensus/config.ts';
import { runDev, type DevOptions } from './devCommand.ts';
import { startGuardianProcess, stopOnSignals } from './guardianProcess.ts';
import { initFederation, makeFederationCertificates } from './initCommand.ts';
import { printLoadReport, runLoad, submitModes, type SubmitMode } from './loadGenerator.ts';
import { runReplay, type ReplayThreads } from './replayCommand.ts';
import { followCommand } from './followCommand.ts';
import { verifyCommand } from './verifyCommand.ts';

const positiveNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
};
const positiveInteger = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

const nonNegativeInteger = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};

const federationSize = (value: string) => {
  const n = positiveInteger(value);
  if (n === 2 || n === 3) throw new InvalidArgumentError('a federation has 1 guardian, or 4 or more (2 and 3 tolerate no faulty guardian)');
  return n;
};

const submitMode = (value: string): SubmitMode => {
  if (!(submitModes as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${submitModes.join(', ')}`);
  return value as SubmitMode;
};

const program = new Command()
  .name('fedlog')
  .description('An event-sourced consensus service: guardians agreeing on signed sessions over an append-only event log')
  .showHelpAfterError();

program
  .command('init')
  .description('create keys (and for 4 or more guardians TLS certificates) and one config per guardian (<out>/guardian-<i>/config.json); never overwrites')
  .requiredOption('--peers <n>', 'federation size (1, or 4 and more)', positiveInteger)
  .requiredOption('--out <dir>', 'output directory')
  .option('--host <hosts>', 'where the guardians are reached: one host for all, or one per guardian, comma-separated (e.g. compose service names)', '127.0.0.1')
  .option('--bind <address>', 'address every guardian listens on (default: its own host; 0.0.0.0 in a container)')
  .option('--session-seconds <s>', 'session length (a single guardian)', positiveNumber, 60)
  .option('--round-delay-ms <ms>', 'broadcast round delay (4 or more guardians)', nonNegativeInteger, 50)
  .option('--rounds-per-session <n>', 'broadcast rounds before a session is signed (4 or more guardians)', positiveInteger, 3600)
  .option('--base-port <port>', "guardian 0's P2P port; its API is on base + 1, guardian i on base + 2i", positiveInteger, 8173)
  .option('--log <esdb-url>', 'keep every guardian\'s log in this EventStoreDB cluster (esdb://...), each under its own stream prefix; default: SQLite in each data directory')
  .action(async (options: { peers: number; out: string; host: string; bind?: string; sessionSeconds: number; roundDelayMs: number; roundsPerSession: number; basePort: number; log?: string }) => {
    const certificates = await makeFederationCertificates(options.peers, options.host);
    const result = initFederation({ ...options, certificates });
    for (const [i, file] of result.configFiles.entries()) console.log(`guardian ${i}: ${file}  (admin token ${result.adminTokens[i]})`);
  });

program
  .command('run')
  .description('run one guardian with its API')
  .requiredOption('--config <file>', 'guardian config (JSON or YAML)')
  .option('--log-level <level>', 'pino level for the JSON logs on stderr', 'info')
  // For `fedlog dev`'s children: stdin is a pipe from the parent, closed when the parent dies.
  .addOption(new Option('--stop-on-stdin-close', 'stop when stdin closes').hideHelp())
  .action(async (options: { config: string; logLevel: string; stopOnStdinClose?: boolean }) => {
    const config = loadGuardianConfig(options.config);
    const guardian = await startGuardianProcess(config, { logLevel: options.logLevel });
    // Before the line that says it serves: a SIGTERM sent on reading it must find the handler.
    stopOnSignals(() => guardian.stop());
    console.log(`guardian ${config.peer} serving ${guardian.apiUrl} (data ${config.dataDir}), session ${guardian.guardian.currentSession()} open`);
    if (options.stopOnStdinClose === true) {
      process.stdin.once('end', () => void guardian.stop());
      process.stdin.resume();
    }
    try {
      await guardian.done;
    } finally {
      // A resumed stdin would keep the process alive after the guardian stopped.
      if (options.stopOnStdinClose === true) process.stdin.destroy();
    }
    console.log('guardian stopped');
  });

program
  .command('dev')
  .description('a local federation of four guardian processes (or --peers 1: one guardian in this process) with embedded SQLite logs, their APIs and demo load (what `npm start` runs)')
  .option('--peers <n>', 'guardians: 4 (or more) as child processes, or 1 in this process', federationSize, 4)
  .option('--data <dir>', 'data directory (created with fresh configs on first use; four guardians use <dir>/guardian-<i>)', 'data/dev')
  .option('--port <port>', "API port of guardian 0 (a new four-guardian directory: guardian i's API on port + 2i, P2P on port - 1 + 2i)", positiveInteger, 8174)
  .option('--session-seconds <s>', 'session length of a new single-guardian directory', positiveNumber, 10)
  .option('--round-delay-ms <ms>', 'broadcast round delay of a new federation directory', nonNegativeInteger, 50)
  .option('--rounds-per-session <n>', 'broadcast rounds per session of a new federation directory (200 x 50 ms: about 10 s)', positiveInteger, 200)
  .option('--rate <tx/s>', 'demo load: target transactions per second over all guardians (0 = no load)', positiveNumber, 200)
  .option('--chains <n>', 'demo load: concurrent users over all guardians', positiveInteger, 64)
  .action(async (options: DevOptions) => {
    await runDev(options);
  });

/** `--observer http://host:port=<admin token>`, repeatable. */
function collectObserver(value: string, previous: { url: string; adminToken: string }[]): { url: string; adminToken: string }[] {
  const at = value.lastIndexOf('=');
  if (at <= 0 || at === value.length - 1) throw new InvalidArgumentError('expected <url>=<admin token>');
  return [...previous, { url: value.slice(0, at), adminToken: value.slice(at + 1) }];
}

program
  .command('load')
  .description('a real HTTP client: deposits, claims, note spends, withdrawals and double-spend attempts at a target rate')
  .requiredOption('--url <url>', "the guardian's API, e.g. http://127.0.0.1:8174")
  .requiredOption('--admin-token <token>', 'bearer token for the admin deposit endpoint (see the config)')
  .option('--rate <tx/s>', 'target submissions per second (0 = as fast as answered)', positiveNumber, 0)
  .option('--duration <s>', 'seconds', positiveNumber, 30)
  .option('--chains <n>', 'concurrent users', positiveInteger, 256)
  .option('--seed <n>', 'seed for when double spends are attempted', positiveInteger, 1)
  .option('--submit <mode>', "batch: many transactions per request, answered once decided; wait: one POST ?wait= per transaction; classic: POST then GET ?wait= (two requests)", submitMode, 'batch' as SubmitMode)
  .option('--sign-ahead <n>', 'transactions each user signs before the clock starts (0 = sign each when needed); takes the client\'s signing out of the measured window', nonNegativeInteger, 0)
  .option('--observer <url=token>', 'another guardian that observes every deposit too (a federation confirms a deposit once a threshold observed it); repeatable', collectObserver, [] as { url: string; adminToken: string }[])
  .option('--json', 'print the report as JSON')
  .action(async (options: { url: string; adminToken: string; observer: { url: string; adminToken: string }[]; rate: number; duration: number; chains: number; seed: number; submit: SubmitMode; signAhead: number; json?: boolean }) => {
    const stop = new AbortController();
    stopOnSignals(() => Promise.resolve(stop.abort()));
    const report = await runLoad({
      url: options.url,
      adminToken: options.adminToken,
      observers: options.observer,
      rate: options.rate,
      durationSeconds: options.duration,
      chains: options.chains,
      seed: options.seed,
      submitMode: options.submit,
      signAhead: options.signAhead,
      signal: stop.signal,
      // A harness measuring the client's CPU in the window learns where the window starts (JSON lines).
      onClockStarted: options.json ? () => console.log(JSON.stringify({ clockStarted: true })) : undefined,
      onProgress: options.json ? undefined : (p) => process.stderr.write(`  ${p.elapsedSeconds.toFixed(0)} s: ${p.accepted} accepted (${p.acceptedPerSecond.toFixed(0)} tx/s)\n`),
    });
    if (options.json) console.log(JSON.stringify(report));
    else printLoadReport(report, (line) => console.log(line));
    if (report.doubleSpendsAccepted > 0 || report.errors > 0) process.exitCode = 1;
  });

program
  .command('replay')
  .description('rebuild every projection from the log, re-verify every session header and signature set, compare with the stored snapshots')
  .requiredOption('--data <dir>', "a guardian's data directory (with config.json or log.sqlite)")
  .option('--from-checkpoint [session]', 'start from a checkpoint instead of position 0: the newest one every projection has, or the one at this session', nonNegativeInteger)
  .option('--json', 'print the report as JSON')
  .option('--threads <mode>', '1, 2 (a worker thread folds ledger, audit and transactions while this one reads the log, checks the sessions and folds the rest), or auto: 2 from 40,000 events', 'auto')
  .action(async (options: { data: string; fromCheckpoint?: boolean | number; json?: boolean; threads: string }) => {
    if (!['1', '2', 'auto'].includes(options.threads)) throw new Error(`--threads must be 1, 2 or auto, not ${options.threads}`);
    const ok = await runReplay({ ...options, threads: options.threads as ReplayThreads });
    if (!ok) process.exitCode = 1;
  });

program.addCommand(followCommand());
program.addCommand(verifyCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`fedlog: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
