/**
 * `fedlog dev`'s view of a federation: each guardian reports the sessions it completed, and a
 * session is printed once, when every guardian reported it, saying whether all headers agree.
 * Pure: the caller polls the guardians and prints.
 */

export interface SessionReport {
  guardian: number;
  session: number;
  header: string;
  itemCount: number;
}

export interface SessionAgreement {
  session: number;
  /** Indexed by guardian. */
  headers: string[];
  itemCounts: number[];
  agree: boolean;
}

export interface SessionTally {
  /** Records one guardian's report; returns the sessions every guardian has now reported, in order, each once. */
  report(report: SessionReport): SessionAgreement[];
  /** The lowest session not yet printed. */
  next(): number;
}

/** A tally for `guardians` guardians, printing from session `from` on (earlier reports are ignored). */
export function createSessionTally(guardians: number, from = 0): SessionTally {
  const pending = new Map<number, { headers: (string | undefined)[]; itemCounts: number[] }>();
  let next = from;
  return {
    report({ guardian, session, header, itemCount }) {
      if (guardian < 0 || guardian >= guardians) throw new RangeError(`guardian ${guardian} is not one of ${guardians}`);
      if (session < next) return [];
      let entry = pending.get(session);
      if (entry === undefined) pending.set(session, (entry = { headers: new Array<string | undefined>(guardians).fill(undefined), itemCounts: new Array<number>(guardians).fill(0) }));
      entry.headers[guardian] = header;
      entry.itemCounts[guardian] = itemCount;
      // Each guardian completes sessions in order, so sessions become complete in order too; a gap
      // (a guardian that restarted and skipped reporting) holds the later ones until it is filled.
      const ready: SessionAgreement[] = [];
      for (let e = pending.get(next); e !== undefined && e.headers.every((h) => h !== undefined); e = pending.get(next)) {
        const headers = e.headers as string[];
        ready.push({ session: next, headers, itemCounts: e.itemCounts, agree: headers.every((h) => h === headers[0]) });
        pending.delete(next);
        next++;
      }
      return ready;
    },
    next: () => next,
  };
}

const counts = new Intl.NumberFormat('en-US');

/** One line per session: the header once when all agree, every guardian's when they do not. */
export function agreementLine(agreement: SessionAgreement): string {
  const n = agreement.headers.length;
  const session = `session ${String(agreement.session).padStart(5)}`;
  const items = `items ${counts.format(Math.max(...agreement.itemCounts)).padStart(8)}`;
  // header(i) is the session index (8 bytes) then the merkle root: the root is what differs.
  const root = (header: string) => `${header.slice(16, 32)}…`;
  if (agreement.agree) return `${session}  ${items}  header ${root(agreement.headers[0]!)}  all ${n} headers agree`;
  return `${session}  ${items}  HEADERS DIFFER: ${agreement.headers.map((h, i) => `guardian ${i} ${root(h)}`).join(', ')}`;
}
