/**
 * Sets the scheduling priority (a nice value; lower runs first) of the calling thread alone, for
 * worker threads that should yield to the event loop (the signature verification workers) or go
 * ahead of it (the API front thread). Linux keeps a nice value per thread, and setpriority(2) with
 * a thread id sets that thread's only; /proc/thread-self names the calling thread's id. Raising
 * priority needs CAP_SYS_NICE or an RLIMIT_NICE allowance; lowering it needs nothing.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

export function setThreadPriority(nice: number): { applied: true } | { applied: false; reason: string } {
  try {
    const thread = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    if (!Number.isSafeInteger(thread) || thread <= 0) return { applied: false, reason: 'this thread has no id in /proc/thread-self' };
    setPriority(thread, nice);
    return { applied: true };
  } catch (error) {
    return { applied: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
