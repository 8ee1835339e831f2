/** What `fedlog load` reports: its figures, and how they are printed. */

export interface LoadReport {
  durationSeconds: number;
  submitted: number;
  accepted: number;
  /** Accepted 1-input transactions (claims, spends, withdrawals) per second. */
  acceptedPerSecond: number;
  deposits: number;
  /** Accepted withdrawals: while running (withdrawalsWhileRunning) and each user's last one when stopped. */
  withdrawals: number;
  withdrawalsWhileRunning: number;
  doubleSpendAttempts: number;
  doubleSpendsRefused: number;
  /** Must be 0: a conflicting spend that was accepted too. */
  doubleSpendsAccepted: number;
  queueFull: number;
  errors: number;
  /** Submit-to-accepted latency, ms. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Transactions signed before the measured window (signAhead), how many of their steps were used, and how long signing took. */
  signedAhead: number;
  signedAheadStepsUsed: number;
  signAheadSeconds: number;
  firstError?: string;
}

/** The p-th percentile of ascending values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function printLoadReport(report: LoadReport, print: (line: string) => void): void {
  const n = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 1 });
  print(`load: ${n(report.accepted)} accepted in ${n(report.durationSeconds)} s = ${n(report.acceptedPerSecond)} tx/s (submitted ${n(report.submitted)}, queue full ${n(report.queueFull)})`);
  print(`  latency submit->accepted: p50 ${n(report.latencyMs.p50)} ms, p90 ${n(report.latencyMs.p90)} ms, p99 ${n(report.latencyMs.p99)} ms, max ${n(report.latencyMs.max)} ms`);
  print(`  deposits ${report.deposits}, withdrawals ${report.withdrawals} (${report.withdrawalsWhileRunning} while running), double-spend attempts ${report.doubleSpendAttempts}: refused ${report.doubleSpendsRefused}, ACCEPTED ${report.doubleSpendsAccepted}`);
  if (report.signedAhead > 0) print(`  signed ahead, before the clock started: ${n(report.signedAhead)} transactions in ${n(report.signAheadSeconds)} s, ${n(report.signedAheadStepsUsed)} steps used (not in the tx/s figure's window)`);
  if (report.errors > 0) print(`  errors ${report.errors}; first: ${report.firstError ?? ''}`);
}
