import { decideAppend } from './appendDecision.ts';
import { catchUpSubscription, createAppendNotifier } from './catchUpSubscription.ts';
import { EventLogClosedError, ExpectedRevisionConflict } from './errors.ts';
import { assertKeepNewest, START, type AppendResult, type EventLog, type Position, type ReadStreamOptions, type RecordedEvent } from './eventLog.ts';
import { PAGE_SIZE, readAllInPages, readAllPagesInOrder } from './pagedRead.ts';
import { decodeEvent, decodeEventText, encodeEvents } from './storedEvent.ts';

/**
 * The in-memory adapter, for tests: the same semantics as sqlite (positions from 1, JSON round
 * trip on every read, the same revision and idempotence rule), and nothing survives close.
 */

interface Row {
  position: Position;
  stream: string;
  revision: number;
  id: string;
  type: string;
  data: string;
  metadata: string;
}

export function createMemoryEventLog(): EventLog {
  /** rows[i] has position i + 1; a deleted stream leaves holes, so positions are never given twice. */
  const rows: (Row | undefined)[] = [];
  /** A stream's rows by revision; a truncated stream has holes before its kept events. */
  const byStream = new Map<string, (Row | undefined)[]>();
  const notifier = createAppendNotifier();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new EventLogClosedError();
  };
  const decode = (row: Row): RecordedEvent => decodeEvent(row.position, row.stream, row.revision, row.id, row.type, row.data, row.metadata);
  const readPage = (after: Position, limit: number): RecordedEvent[] => {
    assertOpen();
    const page: RecordedEvent[] = [];
    for (let i = Number(after < 0n ? 0n : after); i < rows.length && page.length < limit; i++) {
      const row = rows[i];
      if (row !== undefined) page.push(decode(row));
    }
    return page;
  };

  /** The rows readStream picks, in its order. */
  const streamRowsOf = (stream: string, options: ReadStreamOptions): Row[] => {
    assertOpen();
    const streamRows = byStream.get(stream) ?? [];
    const maxCount = options.maxCount ?? Infinity;
    const picked: Row[] = [];
    const pick = (row: Row | undefined) => {
      if (row !== undefined) picked.push(row);
    };
    if ((options.direction ?? 'forwards') === 'forwards') {
      for (let r = Math.max(0, options.fromRevision ?? 0); r < streamRows.length && picked.length < maxCount; r++) pick(streamRows[r]);
    } else {
      for (let r = Math.min(streamRows.length - 1, options.fromRevision ?? Infinity); r >= 0 && picked.length < maxCount; r--) pick(streamRows[r]);
    }
    return picked;
  };

  return {
    async append(stream, events, options = {}): Promise<AppendResult> {
      assertOpen();
      const expected = options.expectedRevision ?? 'any';
      const stored = encodeEvents(stream, events);
      const streamRows = byStream.get(stream) ?? [];
      const current = streamRows.length - 1;
      const decision = decideAppend(
        expected,
        current,
        stored.map((e) => e.givenId),
        (revision) => streamRows[revision],
      );
      if (decision.kind === 'conflict') throw new ExpectedRevisionConflict(stream, expected, decision.actual);
      if (decision.kind === 'retry') return { nextExpectedRevision: decision.lastRevision, position: decision.position };
      if (stored.length === 0) return { nextExpectedRevision: current, position: streamRows.at(-1)?.position ?? START };
      if (!byStream.has(stream)) byStream.set(stream, streamRows);
      for (const event of stored) {
        const row: Row = { position: BigInt(rows.length + 1), stream, revision: streamRows.length, id: event.id, type: event.type, data: event.data, metadata: event.metadata };
        rows.push(row);
        streamRows.push(row);
      }
      notifier.appended();
      return { nextExpectedRevision: streamRows.length - 1, position: BigInt(rows.length) };
    },

    async deleteStream(stream) {
      assertOpen();
      for (const row of byStream.get(stream) ?? []) if (row !== undefined) rows[Number(row.position) - 1] = undefined;
      byStream.delete(stream);
    },

    async truncateStream(stream, keepNewest) {
      assertOpen();
      assertKeepNewest(keepNewest);
      const streamRows = byStream.get(stream) ?? [];
      for (let r = 0; r < streamRows.length - keepNewest; r++) {
        const row = streamRows[r];
        if (row === undefined) continue;
        rows[Number(row.position) - 1] = undefined;
        streamRows[r] = undefined;
      }
    },

    async readStream(stream, options: ReadStreamOptions = {}) {
      return streamRowsOf(stream, options).map(decode);
    },

    async readStreamText(stream, options: ReadStreamOptions = {}) {
      return streamRowsOf(stream, options).map((row) => decodeEventText(row.position, row.stream, row.revision, row.id, row.type, row.data, row.metadata));
    },

    readAll(fromPosition = START) {
      return readAllInPages(readPage, fromPosition, PAGE_SIZE);
    },

    readAllPages(fromPosition = START, pageSize = PAGE_SIZE) {
      return readAllPagesInOrder(readPage, fromPosition, pageSize);
    },

    subscribe(fromPosition = START) {
      return catchUpSubscription(readPage, notifier, fromPosition);
    },

    async close() {
      if (closed) return;
      closed = true;
      notifier.closed();
    },
  };
}
