import type { EventLogLocation } from '../streams/openEventLog.ts';

/**
 * replayParallel.ts's exports as a replay worker loads them: for a SQLite log one esbuild bundle, built
 * ('bundle') or kept from an earlier build whose inputs are unchanged ('cached bundle'); else
 * through tsx. `cacheDir`: where the bundle is kept (default node_modules/.cache/fedlog).
 */
export function loadReplayModule(
  location: EventLogLocation,
  options?: { cacheDir?: string },
): Promise<{ module: typeof import('./replayParallel.ts'); loadedBy: 'bundle' | 'cached bundle' | 'tsx' }>;
