/**
 * What an operator watching `fedlog follow` needs while a replica catches up a long history: how
 * far it is, how fast it goes and when it will be there, then one word that it arrived. Read off
 * the replica's status at an interval, so either kind of replica reports the same way.
 */
import type { FollowerStatus } from './follower.ts';

export type CatchUpReport =
  | { kind: 'behind'; sessions: number; guardianSessions: number; sessionsPerSecond?: number; secondsLeft?: number }
  | { kind: 'caughtUp'; sessions: number };

/**
 * Returns a function to call with the status at each tick: a report while at least `minLag`
 * sessions behind (a live replica is often one session behind, which is no news), and once when
 * it has caught up after being reported behind; undefined otherwise.
 */
export function catchUpProgress(minLag = 2): (status: Pick<FollowerStatus, 'sessions' | 'guardianSessions'>, nowMs: number) => CatchUpReport | undefined {
  let previous: { sessions: number; at: number } | undefined;
  let reportedBehind = false;
  return (status, nowMs) => {
    const last = previous;
    previous = { sessions: status.sessions, at: nowMs };
    if (status.guardianSessions === undefined) return undefined;
    const lag = status.guardianSessions - status.sessions;
    if (lag <= 0) {
      if (!reportedBehind) return undefined;
      reportedBehind = false;
      return { kind: 'caughtUp', sessions: status.sessions };
    }
    if (!reportedBehind && lag < minLag) return undefined;
    reportedBehind = true;
    const report: CatchUpReport = { kind: 'behind', sessions: status.sessions, guardianSessions: status.guardianSessions };
    if (last === undefined || nowMs <= last.at) return report;
    const sessionsPerSecond = (status.sessions - last.sessions) / ((nowMs - last.at) / 1000);
    return sessionsPerSecond > 0 ? { ...report, sessionsPerSecond, secondsLeft: lag / sessionsPerSecond } : { ...report, sessionsPerSecond };
  };
}
