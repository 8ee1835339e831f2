/**
 * The broadcast's backup in the log: every unit is appended to `dag-<i>` as UnitSaved before the
 * broadcast uses or sends it. Saves are group-committed: every save asked for while an append is
 * in flight goes into the next one, so a guardian pays one fsync per burst, not one per unit.
 */
import type { UnitSaver } from '../broadcast/backup/backup.ts';
import { hexToBytes } from '../../domain/hashing.ts';
import type { EventLog } from '../../streams/eventLog.ts';
import { isEvent, newEvent, streams } from '../../streams/events.ts';
import { hexOf } from '../engine/nodeHex.ts';

export function dagSaver(log: EventLog, session: number): UnitSaver {
  let waiting: { unit: Uint8Array; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let writing = false;
  const drain = async () => {
    writing = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        await log.append(
          streams.dag(session),
          batch.map(({ unit }) => newEvent('UnitSaved', { session, unit: hexOf(unit) })),
        );
        for (const save of batch) save.resolve();
      } catch (error) {
        for (const save of batch) save.reject(error);
      }
    }
    writing = false;
  };
  return {
    save: (unit) =>
      new Promise<void>((resolve, reject) => {
        waiting.push({ unit, resolve, reject });
        if (!writing) void drain();
      }),
  };
}

/** The units an earlier run of this session saved, in saved order (parents before children). */
export async function readDagBackup(log: EventLog, session: number): Promise<Uint8Array[]> {
  const events = await log.readStream(streams.dag(session));
  return events.flatMap((event) => (isEvent(event, 'UnitSaved') ? [hexToBytes(event.data.unit)] : []));
}

/** DESIGN.md: `dag-<i>` is a backup, not history; once the session is complete it may go. */
export async function deleteDagBackup(log: EventLog, session: number): Promise<void> {
  await log.deleteStream?.(streams.dag(session));
}
