import type { EventLogLocation } from '../streams/openEventLog.ts';

/** replay.ts's exports as a replay worker loads them: one esbuild bundle for a SQLite log, else through tsx. */
export function loadReplayModule(location: EventLogLocation): Promise<{ module: typeof import('./replay.ts'); loadedBy: 'bundle' | 'tsx' }>;
