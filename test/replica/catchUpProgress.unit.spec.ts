import { describe, expect, it } from 'vitest';
import { catchUpLine } from '../../src/cli/followCommand.ts';
import { catchUpProgress } from '../../src/replica/catchUpProgress.ts';

describe("a replica's catch-up progress", () => {
  it('reports how far, how fast and how long while behind, then once that it caught up', () => {
    const progress = catchUpProgress();
    expect(progress({ sessions: 0 }, 0)).toBeUndefined();
    expect(progress({ sessions: 0, guardianSessions: 10_000 }, 1_000)).toEqual({ kind: 'behind', sessions: 0, guardianSessions: 10_000, sessionsPerSecond: 0 });
    const moving = progress({ sessions: 1_000, guardianSessions: 10_000 }, 11_000);
    expect(moving).toEqual({ kind: 'behind', sessions: 1_000, guardianSessions: 10_000, sessionsPerSecond: 100, secondsLeft: 90 });
    expect(catchUpLine(moving!)).toBe('catching up: 1,000 of 10,000 sessions recorded (100 sessions/s, about 1 min 30 s left)');
    // Still reported while the last session is in flight, until none is left.
    expect(progress({ sessions: 9_999, guardianSessions: 10_000 }, 21_000)?.kind).toBe('behind');
    const arrived = progress({ sessions: 10_000, guardianSessions: 10_000 }, 31_000);
    expect(arrived).toEqual({ kind: 'caughtUp', sessions: 10_000 });
    expect(catchUpLine(arrived!)).toBe('caught up: 10,000 sessions recorded');
    expect(progress({ sessions: 10_000, guardianSessions: 10_000 }, 41_000)).toBeUndefined();
  });

  it('keeps quiet about the one session a live replica is often behind', () => {
    const progress = catchUpProgress();
    for (let tick = 0; tick < 6; tick++) expect(progress({ sessions: 50 + tick, guardianSessions: 50 + tick + (tick % 2) }, tick * 10_000)).toBeUndefined();
  });

  it('says when nothing moved since the last line, and reads hours in hours', () => {
    const progress = catchUpProgress();
    progress({ sessions: 5, guardianSessions: 100_000 }, 0);
    const stuck = progress({ sessions: 5, guardianSessions: 100_000 }, 10_000)!;
    expect(catchUpLine(stuck)).toBe('catching up: 5 of 100,000 sessions recorded (no progress since the last line)');
    const slow = progress({ sessions: 105, guardianSessions: 100_000 }, 20_000)!;
    expect(catchUpLine(slow)).toBe('catching up: 105 of 100,000 sessions recorded (10 sessions/s, about 2 h 46 min left)');
  });
});
