import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../../../src/consensus/broadcast/clock.ts';
import { createFetchAhead } from '../../../../src/consensus/broadcast/dissemination/fetchAhead.ts';
import { createPeerBudget } from '../../../../src/consensus/broadcast/dissemination/peerBudget.ts';
import { createRequests } from '../../../../src/consensus/broadcast/dissemination/requests.ts';
import { seededRandom } from '../../../../src/domain/seededRandom.ts';

function setup(limits = { maxPerPeer: 3, maxTotal: 5 }) {
  const clock = createVirtualClock();
  const requests = createRequests({ clock, self: 0, n: 7, random: seededRandom(1), firstDelayMs: 10, maxDelayMs: 40, ...limits });
  const asked: { at: number; peer: number }[] = [];
  const ask = (peer: number) => asked.push({ at: clock.now(), peer });
  return { clock, requests, asked, ask };
}

describe('requests', () => {
  it('sends an urgent request at once to two distinct peers, and each retry to one more', async () => {
    const { clock, requests, asked, ask } = setup();
    requests.want('c/1/5', ask, { cause: 1, urgent: true });
    expect(asked.map((a) => a.at)).toEqual([0, 0]);
    expect(new Set(asked.map((a) => a.peer)).size).toBe(2);
    expect(asked.some((a) => a.peer === 0)).toBe(false);
    await clock.runFor(10);
    expect(asked.filter((a) => a.at === 10)).toHaveLength(3);
    requests.satisfied('c/1/5');
    await clock.runFor(1_000);
    expect(asked).toHaveLength(5);
    expect(requests.sent).toBe(5);
  });

  it('waits before a normal request, backs off to the cap, and never gives up unless told to', async () => {
    const { clock, requests, asked, ask } = setup();
    requests.want('c/1/5', ask, { cause: 1 });
    expect(asked).toHaveLength(0);
    await clock.runFor(1_000);
    const times = [...new Set(asked.map((a) => a.at))];
    expect(times.slice(0, 5)).toEqual([10, 20, 40, 80, 120]);
    expect(requests.pending).toBe(1);
  });

  it('gives up a speculative request after maxAttempts, unless a unit came to need it meanwhile', async () => {
    const { clock, requests, ask } = setup();
    requests.want('c/1/5', ask, { cause: 0, urgent: true, maxAttempts: 2 });
    requests.want('c/2/5', ask, { cause: 0, urgent: true, maxAttempts: 2 });
    requests.want('c/2/5', ask, { cause: 1 });
    await clock.runFor(1_000);
    expect(requests.isOpen('c/1/5')).toBe(false);
    expect(requests.isOpen('c/2/5')).toBe(true);
  });

  it('charges each request to the peer that caused it, within a per-peer and a total bound', () => {
    const { requests, ask } = setup();
    for (const key of ['a', 'b', 'c']) requests.want(key, ask, { cause: 1 });
    expect(requests.causedBy(1)).toBe(3);
    expect(requests.affordable(1, 1)).toBe(false);
    expect(requests.affordable(2, 2)).toBe(true);
    requests.want('d', ask, { cause: 2 });
    requests.want('e', ask, { cause: 2 });
    expect(requests.affordable(3, 1)).toBe(false);
    requests.satisfied('a');
    expect(requests.causedBy(1)).toBe(2);
    expect(requests.affordable(3, 1)).toBe(true);
  });
});

describe('fetching ahead', () => {
  it('moves only when f + 1 creators show rounds well above ours, and fetches those creators only', () => {
    const fetched: string[] = [];
    const fetchAhead = createFetchAhead({ n: 4, window: 5, fetch: (c, r) => fetched.push(`${c}/${r}`) > 0 });
    fetchAhead.saw(3, 500);
    fetchAhead.update(10);
    // One creator (possibly byzantine) alone moves nothing.
    expect(fetched).toEqual([]);
    fetchAhead.saw(1, 400);
    fetchAhead.update(10);
    expect(fetched).toContain('1/15');
    expect(fetched).toContain('3/15');
    expect(fetched.some((k) => k.startsWith('0/') || k.startsWith('2/'))).toBe(false);
    expect(fetched.some((k) => k.endsWith('/16'))).toBe(false);
  });

  it('stops where the request table is full, and resumes there', () => {
    let room = 3;
    const fetched: string[] = [];
    const fetchAhead = createFetchAhead({ n: 4, window: 5, fetch: (c, r) => room-- > 0 && fetched.push(`${c}/${r}`) > 0 });
    for (const c of [0, 1, 2, 3]) fetchAhead.saw(c, 100);
    fetchAhead.update(50);
    expect(fetched).toHaveLength(3);
    room = 100;
    fetchAhead.update(50);
    expect(fetched).toContain('3/55');
  });
});

describe('peer budget', () => {
  it('allows a burst, then refills per second, per peer', async () => {
    const clock = createVirtualClock();
    const budget = createPeerBudget(4, clock, { burst: 10, perSecond: 5 });
    expect(budget.take(1, 10)).toBe(true);
    expect(budget.take(1, 1)).toBe(false);
    expect(budget.take(2, 1)).toBe(true);
    await clock.runFor(1_000);
    expect(budget.take(1, 5)).toBe(true);
    expect(budget.take(1, 1)).toBe(false);
    expect(budget.take(9, 1)).toBe(false);
  });
});
