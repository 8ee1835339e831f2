/**
 * `fedlog verify`: the auditor's command. Reads signed session outcomes from a guardian's API or
 * data directory, checks every header and signature set against the federation keys (pinned with
 * --keys, or taken from the source with a warning), re-processes the items through the domain
 * ledger with real signature checks, and reports one balance sheet per session. A data directory's
 * log is also checked itself: its file (SQLite's integrity check), its FederationConfigured against
 * its own consensus hash, and every field it derived (sessionVerifier.ts).
 *
 * Exit codes: 0 everything verifies, 1 any finding, 2 usage or I/O errors (nothing was concluded).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { threshold as thresholdOf, type FederationKeys } from '../domain/federation.ts';
import { bytesToHex, hexToBytes } from '../domain/hashing.ts';
import { defaultModulesConfig, modulesConfigFromJson, modulesConfigToJson, type ModulesConfigJson } from '../domain/modules/consensusModules.ts';
import { createBatchVerifier } from '../runtime/signatures/batchVerifier.ts';
import { fastestBackend } from '../runtime/signatures/fastest.ts';
import { auditReportHtml } from './auditReportHtml.ts';
import { guardianDataDir } from './guardianDataDir.ts';
import { createSessionVerifier, type BalanceSheet, type Finding, type SessionVerification } from './sessionVerifier.ts';
import { openDataSource, openUrlSource, SourceError, type SignedOutcomeSource, type SourceFederation } from './signedOutcomeSource.ts';
import { federationConsensusHash } from '../streams/federationConfiguredCheck.ts';

export interface VerifyOptions {
  url?: string;
  data?: string;
  /** Pinned federation keys: `{ "<peer>": hex }`, or a saved GET /v1/federation answer. */
  keys?: string;
  from?: number;
  to?: number;
  /** Where to write the report. */
  report?: string;
  /** The report's format (default: html for a .html or .htm file, else json). */
  format?: ReportFormat;
  /** The wallet's withdraw fee in msat, for sources that do not publish the module config (the API). */
  withdrawFee?: string;
  concurrency?: number;
  retries?: number;
  /** Backoff before the first retry (default 200 ms, doubling). */
  backoffMs?: number;
  /** Print the report as JSON on stdout instead of the table. */
  json?: boolean;
  /** Human output (default stdout) and warnings (default stderr). */
  print?: (line: string) => void;
  warn?: (line: string) => void;
  /** Show a progress bar on stderr (default: when stderr is a terminal and not --json). */
  progress?: boolean;
  /** Verification worker threads (default: the machine's parallelism). */
  workers?: number;
  signal?: AbortSignal;
}

export interface VerifyReport {
  tool: { name: 'fedlog verify'; version: string };
  generatedAt: string;
  source: Record<string, string>;
  keys: { origin: 'pinned' | 'source'; file?: string; peers: Record<string, string>; threshold: number; consensusHash?: string };
  modules: ModulesConfigJson & { origin: 'source' | 'option' | 'default' };
  range: { from: number; to: number | null; completedSessions: number };
  balanceSheets: { recomputed: boolean; note?: string };
  sessions: Array<Omit<SessionVerification, 'findings'> & { findings: number }>;
  findings: Finding[];
  ok: boolean;
  durationMs: number;
}

export interface VerifyResult {
  exitCode: 0 | 1 | 2;
  report?: VerifyReport;
  /** Why nothing could be concluded (exit code 2). */
  error?: string;
}

export type ReportFormat = 'json' | 'html';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const keysFileSchema = z.union([
  z.record(z.string().regex(/^(0|[1-9][0-9]*)$/, 'peer ids as decimal keys'), z.string().regex(/^[0-9a-f]{64}$/, '32-byte x-only keys as lowercase hex')),
  z.object({ peers: z.array(z.object({ id: z.number().int().min(0).max(0xffff), pubkey: z.string().regex(/^[0-9a-f]{64}$/) })).min(1) }),
]);

export function readKeysFile(file: string): FederationKeys {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read keys file ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = keysFileSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`keys file ${file} is neither { "<peer>": "<hex key>" } nor a /v1/federation answer: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  const entries: Array<[number, string]> = 'peers' in parsed.data && Array.isArray(parsed.data.peers) ? parsed.data.peers.map((p) => [p.id, p.pubkey]) : Object.entries(parsed.data as Record<string, string>).map(([peer, key]) => [Number(peer), key]);
  if (entries.length === 0) throw new UsageError(`keys file ${file} lists no keys`);
  return new Map(entries.map(([peer, key]) => [peer, hexToBytes(key)]));
}

function keysToJson(keys: FederationKeys): Record<string, string> {
  const out: Record<string, string> = {};
  for (const peer of [...keys.keys()].sort((a, b) => a - b)) out[String(peer)] = bytesToHex(keys.get(peer)!);
  return out;
}

/** Differences between the pinned keys and the keys the source claims, one line each. */
function keyMismatches(pinned: FederationKeys, claimed: FederationKeys): string[] {
  const out: string[] = [];
  const peers = [...new Set([...pinned.keys(), ...claimed.keys()])].sort((a, b) => a - b);
  for (const peer of peers) {
    const a = pinned.get(peer);
    const b = claimed.get(peer);
    if (a === undefined) out.push(`the source lists peer ${peer}, who is not in the pinned federation`);
    else if (b === undefined) out.push(`the source does not list pinned peer ${peer}`);
    else if (bytesToHex(a) !== bytesToHex(b)) out.push(`peer ${peer}: the source's key ${bytesToHex(b)} is not the pinned ${bytesToHex(a)}`);
  }
  return out;
}

function toolVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function openSource(options: VerifyOptions, warn: (line: string) => void): Promise<SignedOutcomeSource> | SignedOutcomeSource {
  if ((options.url === undefined) === (options.data === undefined)) throw new UsageError('give exactly one of --url <guardian api> or --data <guardian data dir>');
  if (options.data !== undefined) {
    const { dir, note } = guardianDataDir(options.data);
    if (note !== undefined) warn(note);
    return openDataSource(dir);
  }
  return openUrlSource(options.url!, {
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.backoffMs === undefined ? {} : { backoffMs: options.backoffMs }),
    onRetry: (what, attempt, reason) => warn(`retrying ${what} (attempt ${attempt}): ${reason}`),
  });
}

/** Runs the verification; never throws for what it was asked or what it found (see the exit code). */
export async function runVerify(options: VerifyOptions): Promise<VerifyResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const warn = options.warn ?? ((line: string) => console.error(line));
  const fail = (error: unknown): VerifyResult => {
    const message = error instanceof Error ? error.message : String(error);
    warn(`fedlog verify: ${message}`);
    return { exitCode: 2, error: message };
  };
  const from = options.from ?? 0;
  if (options.to !== undefined && options.to < from) return fail(new UsageError(`--to ${options.to} is before --from ${from}`));
  if (options.format !== undefined && options.report === undefined) return fail(new UsageError('--format chooses the format of --report <file>, which is missing'));
  let source: SignedOutcomeSource;
  try {
    source = await openSource(options, warn);
  } catch (error) {
    return fail(error);
  }
  try {
    return await verifyFrom(source, options, print, warn);
  } catch (error) {
    if (error instanceof SourceError || error instanceof UsageError || options.signal?.aborted === true) return fail(error);
    throw error;
  } finally {
    await source.close();
  }
}

async function verifyFrom(source: SignedOutcomeSource, options: VerifyOptions, print: (line: string) => void, warn: (line: string) => void): Promise<VerifyResult> {
  const started = performance.now();
  const from = options.from ?? 0;
  const findings: Finding[] = [];

  const claimed = await source.federation();
  // A log's own FederationConfigured and file are checked before anything is read from them (issue 16).
  for (const problem of (await source.storageProblems?.()) ?? []) findings.push(problem);
  const pinned = options.keys === undefined ? undefined : readKeysFile(options.keys);
  if (pinned === undefined) warn('warning: federation keys were taken from the source itself; pin them with --keys <file> so the guardian cannot vouch for its own keys');
  else for (const detail of keyMismatches(pinned, claimed.keys)) findings.push({ kind: 'keys', detail });
  // What the signatures are checked against: the auditor's keys when pinned, never the source's over them.
  const keys = pinned ?? claimed.keys;
  const needed = thresholdOf(keys.size);
  if (claimed.threshold !== undefined && claimed.threshold !== needed) findings.push({ kind: 'keys', detail: `the source states threshold ${claimed.threshold}, but ${keys.size} guardians need ${needed}` });
  for (const detail of consensusHashProblems(claimed, keys)) findings.push({ kind: 'federation', detail });
  if (claimed.consensusHash !== undefined && claimed.configuration === undefined && source.description.kind === 'url') {
    warn('warning: the source does not publish its consensus configuration, so its consensus hash was not recomputed');
  }

  let modules: VerifyReport['modules'];
  if (options.withdrawFee !== undefined) modules = { wallet: { withdrawFeeMsat: options.withdrawFee }, origin: 'option' };
  else if (claimed.modules !== undefined) modules = { ...claimed.modules, origin: 'source' };
  else {
    modules = { ...modulesConfigToJson(defaultModulesConfig), origin: 'default' };
    warn(`warning: the source does not publish the module configuration; assuming the default withdraw fee of ${modules.wallet.withdrawFeeMsat} msat (set it with --withdraw-fee)`);
  }

  const completed = await source.sessionCount();
  if (options.to !== undefined && options.to >= completed) throw new SourceError(`--to ${options.to}: only sessions 0..${completed - 1} are complete`);
  const last = options.to ?? completed - 1;
  const balanceSheets = from === 0;
  const note = balanceSheets
    ? undefined
    : `balance sheets and transaction signatures were not checked: they need every session from 0, and verification started at session ${from}; headers and session signatures were verified`;
  if (note !== undefined) warn(`note: ${note}`);
  if (last < from) warn(`note: no completed session to verify from session ${from} (${completed} complete)`);

  const backend = fastestBackend((reason) => warn(`signatures: ${reason}`));
  const batchVerifier = createBatchVerifier({ backend, ...(options.workers === undefined ? {} : { workers: options.workers }), onFallback: (reason) => warn(`signatures: verification worker uses noble (${reason})`) });
  const verifier = createSessionVerifier({ keys, modules: modulesConfigFromJson(modules), balanceSheets, batchVerifier, backend, from, ...(options.signal === undefined ? {} : { signal: options.signal }) });

  const total = Math.max(0, last - from + 1);
  const showBar = (options.progress ?? (process.stderr.isTTY && !options.json)) && total > 0;
  const bar = new cliProgress.SingleBar(
    { format: 'verify [{bar}] {percentage}% | session {value}/{total} | {items} items | {findings} findings', stream: process.stderr, hideCursor: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  const sessions: SessionVerification[] = [];
  let items = 0;
  try {
    if (showBar) bar.start(total, 0, { items: 0, findings: findings.length });
    if (total > 0) {
      for await (const record of source.outcomes(from, last, options.signal)) {
        const result = await verifier.verify(record);
        sessions.push(result);
        findings.push(...result.findings);
        items += result.items;
        if (showBar) bar.update(sessions.length, { items, findings: findings.length });
      }
    }
  } finally {
    if (showBar) bar.stop();
    await batchVerifier.close();
  }

  const report: VerifyReport = {
    tool: { name: 'fedlog verify', version: toolVersion() },
    generatedAt: new Date().toISOString(),
    source: source.description,
    keys: {
      origin: pinned === undefined ? 'source' : 'pinned',
      ...(options.keys === undefined ? {} : { file: options.keys }),
      peers: keysToJson(keys),
      threshold: needed,
      ...(claimed.consensusHash === undefined ? {} : { consensusHash: claimed.consensusHash }),
    },
    modules,
    range: { from, to: last < from ? null : last, completedSessions: completed },
    balanceSheets: { recomputed: balanceSheets, ...(note === undefined ? {} : { note }) },
    sessions: sessions.map((s) => ({ ...s, findings: s.findings.length })),
    findings,
    ok: findings.length === 0,
    durationMs: Math.round(performance.now() - started),
  };
  if (options.report !== undefined) {
    try {
      const format = options.format ?? (/^\.html?$/i.test(extname(options.report)) ? 'html' : 'json');
      writeFileSync(options.report, format === 'html' ? auditReportHtml(report) : `${JSON.stringify(report, null, 2)}\n`);
    } catch (error) {
      throw new SourceError(`cannot write the report to ${options.report}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (options.json) print(JSON.stringify(report));
  else printSummary(report, items, print);
  return { exitCode: report.ok ? 0 : 1, report };
}

/**
 * The consensus hash a guardian states, recomputed from the configuration it publishes, and that
 * configuration's keys against the keys signatures are checked with (DESIGN.md: verify checks it).
 */
function consensusHashProblems(claimed: SourceFederation, keys: FederationKeys): string[] {
  const { configuration, consensusHash } = claimed;
  if (configuration === undefined || consensusHash === undefined) return [];
  const problems: string[] = [];
  const recomputed = federationConsensusHash(configuration);
  if (recomputed !== consensusHash) problems.push(`the source states consensus hash ${consensusHash}, but its published configuration hashes to ${recomputed}`);
  const published = new Map(Object.entries(configuration.keys).map(([peer, key]) => [Number(peer), hexToBytes(key)]));
  for (const detail of keyMismatches(keys, published)) problems.push(`the published configuration's keys: ${detail}`);
  return problems;
}

function line(sheet: BalanceSheet | undefined, name: string): string {
  return sheet?.modules.find((l) => l.name === name)?.msat ?? '-';
}

function printSummary(report: VerifyReport, items: number, print: (line: string) => void): void {
  const columns = ['session', 'items', 'header', 'signatures', 'net assets (msat)', 'reserves', 'outstanding notes'];
  const rows = report.sessions.map((s) => [
    String(s.session),
    String(s.items),
    s.headerOk ? 'ok' : 'MISMATCH',
    `${s.signatures.valid}/${s.signatures.threshold}${s.signatures.valid < s.signatures.threshold ? ' FAIL' : ''}`,
    s.balanceSheet?.netAssets ?? '-',
    line(s.balanceSheet, 'reserves'),
    line(s.balanceSheet, 'outstanding notes'),
  ]);
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: string[]) => cells.map((cell, i) => (i === 2 || i === 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  print(format(columns));
  for (const row of rows) print(format(row));
  print('');
  print(`source ${Object.values(report.source).join(' ')}; keys ${report.keys.origin === 'pinned' ? `pinned (${report.keys.file})` : 'taken from the source'}; threshold ${report.keys.threshold} of ${Object.keys(report.keys.peers).length}`);
  if (report.balanceSheets.note !== undefined) print(`note: ${report.balanceSheets.note}`);
  for (const finding of report.findings.slice(0, 50)) print(`  FINDING ${describe(finding)}`);
  if (report.findings.length > 50) print(`  … and ${report.findings.length - 50} more findings (see --report)`);
  const range = report.range.to === null ? 'no sessions' : `sessions ${report.range.from}..${report.range.to}`;
  print(
    report.ok
      ? `verify OK: ${range}, ${items.toLocaleString('en-US')} items; every header and signature set verifies${report.balanceSheets.recomputed ? ', every item is accepted and net assets never went below zero' : ''} (${(report.durationMs / 1000).toFixed(2)} s)`
      : `verify FAILED: ${report.findings.length} finding(s) over ${range}`,
  );
}

function describe(finding: Finding): string {
  const where = 'session' in finding ? `session ${finding.session}${'index' in finding ? ` item ${finding.index}` : ''}: ` : '';
  return `[${finding.kind}] ${where}${finding.detail}`;
}

const nonNegativeInteger = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};
const msat = (value: string) => {
  if (!/^(0|[1-9][0-9]*)$/.test(value) || BigInt(value) >= 2n ** 64n) throw new InvalidArgumentError('expected msat as an unsigned decimal integer');
  return value;
};

/** The commander definition; usage errors exit with 2 like every other failure to conclude. */
export function verifyCommand(): Command {
  return new Command('verify')
    .description('auditor: verify signed session outcomes (headers, threshold signatures) and recompute the balance sheet of every session')
    .option('--url <url>', "a guardian's API, e.g. http://127.0.0.1:8174")
    .option('--data <dir>', "a guardian's data directory (with config.json or log.sqlite), or a federation's (reads guardian-0, or its only guardian-<i>)")
    .option('--keys <file>', 'pinned federation keys: { "<peer>": "<x-only key hex>" } or a saved /v1/federation answer')
    .option('--from <session>', 'first session (balance sheets need 0)', nonNegativeInteger, 0)
    .option('--to <session>', 'last session (default: the last completed one)', nonNegativeInteger)
    .option('--report <file>', 'write the report to this file: self-contained HTML for a .html file, else JSON')
    .addOption(new Option('--format <format>', "the report's format, whatever the file's name").choices(['json', 'html']))
    .option('--withdraw-fee <msat>', "the wallet's withdraw fee, when the source does not publish it (the API)", msat)
    .option('--concurrency <n>', '--url: sessions fetched ahead', nonNegativeInteger, 8)
    .option('--retries <n>', '--url: retries on 5xx and network errors', nonNegativeInteger, 5)
    .option('--json', 'print the report as JSON instead of the table')
    .showHelpAfterError()
    .exitOverride((error) => {
      // Help and version exit 0; anything commander refuses is a usage error.
      process.exit(error.exitCode === 0 ? 0 : 2);
    })
    .action(async (options: { url?: string; data?: string; keys?: string; from: number; to?: number; report?: string; format?: ReportFormat; withdrawFee?: string; concurrency: number; retries: number; json?: boolean }) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      try {
        const result = await runVerify({ ...options, signal: stop.signal });
        process.exitCode = result.exitCode;
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
}
