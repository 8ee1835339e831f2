import { describe, expect, it } from 'vitest';
import { loadShares, loadTotalLine } from '../../src/cli/devFederation.ts';
import type { LoadReport } from '../../src/cli/loadGenerator.ts';
import { agreementLine, createSessionTally, type SessionReport } from '../../src/cli/sessionAgreement.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';

const header = (session: number, root: string) => session.toString(16).padStart(16, '0') + root.repeat(64 / root.length);

describe('the session agreement printed by fedlog dev', () => {
  it('prints a session once, when the last of the four reported it, and says the headers agree', () => {
    const tally = createSessionTally(4);
    const h = header(0, 'ab');
    expect(tally.report({ guardian: 2, session: 0, header: h, itemCount: 5 })).toEqual([]);
    expect(tally.report({ guardian: 0, session: 0, header: h, itemCount: 5 })).toEqual([]);
    expect(tally.report({ guardian: 3, session: 0, header: h, itemCount: 5 })).toEqual([]);
    const [done, ...more] = tally.report({ guardian: 1, session: 0, header: h, itemCount: 5 });
    expect(more).toEqual([]);
    expect(done).toEqual({ session: 0, headers: [h, h, h, h], itemCounts: [5, 5, 5, 5], agree: true });
    // A guardian polled again reports the session again: it is not printed twice.
    expect(tally.report({ guardian: 1, session: 0, header: h, itemCount: 5 })).toEqual([]);
    expect(agreementLine(done!)).toBe(`session     0  items        5  header ${'ab'.repeat(8)}…  all 4 headers agree`);
  });

  it('names every guardian\'s header when one differs', () => {
    const tally = createSessionTally(4, 7);
    const good = header(7, 'cd');
    const bad = header(7, 'ef');
    const reports = [0, 1, 2, 3].flatMap((guardian) => tally.report({ guardian, session: 7, header: guardian === 2 ? bad : good, itemCount: 1 }));
    expect(reports).toHaveLength(1);
    expect(reports[0]!.agree).toBe(false);
    expect(agreementLine(reports[0]!)).toBe(`session     7  items        1  HEADERS DIFFER: guardian 0 ${'cd'.repeat(8)}…, guardian 1 ${'cd'.repeat(8)}…, guardian 2 ${'ef'.repeat(8)}…, guardian 3 ${'cd'.repeat(8)}…`);
  });

  it('ignores sessions before the one it starts from (history of an existing directory)', () => {
    const tally = createSessionTally(4, 3);
    expect([0, 1, 2, 3].flatMap((guardian) => tally.report({ guardian, session: 2, header: header(2, 'aa'), itemCount: 0 }))).toEqual([]);
    expect(tally.next()).toBe(3);
  });

  it('prints every session exactly once and in order, whatever order the four reports arrive in (seeded shuffles)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const tally = createSessionTally(4);
      // Each guardian reports its sessions in order; the four streams interleave at random.
      const queues = [0, 1, 2, 3].map((guardian) => Array.from({ length: 10 }, (_, session): SessionReport => ({ guardian, session, header: header(session, '11'), itemCount: session })));
      const printed: number[] = [];
      while (queues.some((q) => q.length > 0)) {
        const open = queues.filter((q) => q.length > 0);
        const next = open[Math.floor(random() * open.length)]!.shift()!;
        for (const agreement of tally.report(next)) printed.push(agreement.session);
      }
      expect(printed, `seed ${seed}`).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  it('refuses a report from a guardian that is not in the federation', () => {
    expect(() => createSessionTally(4).report({ guardian: 4, session: 0, header: header(0, 'aa'), itemCount: 0 })).toThrow(RangeError);
  });
});

describe('the demo load of fedlog dev over four guardians', () => {
  it('gives each guardian a quarter of the rate, splits the users as evenly as integers allow, and seeds each differently', () => {
    const shares = loadShares(4, 200, 66);
    expect(shares.map((s) => s.rate)).toEqual([50, 50, 50, 50]);
    expect(shares.map((s) => s.chains)).toEqual([17, 17, 16, 16]);
    expect(new Set(shares.map((s) => s.seed)).size).toBe(4);
  });

  it('gives every guardian at least one user', () => {
    expect(loadShares(4, 10, 2).map((s) => s.chains)).toEqual([1, 1, 1, 1]);
  });

  it('sums accepted transactions, rates, accepted double spends and errors over the guardians', () => {
    const report = (accepted: number, perSecond: number, doubleSpendsAccepted: number, errors: number) => ({ accepted, acceptedPerSecond: perSecond, doubleSpendsAccepted, errors }) as LoadReport;
    expect(loadTotalLine([report(100, 10, 0, 1), report(250, 25.5, 1, 0)])).toBe('load over 2 guardians: 350 accepted = 35.5 tx/s, double spends ACCEPTED 1, errors 1');
  });
});
