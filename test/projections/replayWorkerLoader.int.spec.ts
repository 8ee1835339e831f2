import { describe, expect, it } from 'vitest';
import { loadReplayModule } from '../../src/projections/replayWorkerLoader.mjs';

describe('the replay worker loader', () => {
  it('loads replay as one bundle for a SQLite log (not silently through tsx), with working exports', async () => {
    const { module, loadedBy } = await loadReplayModule({ kind: 'sqlite', path: ':memory:' });
    expect(loadedBy).toBe('bundle');
    expect(typeof module.replayShare).toBe('function');
  });

  it('loads replay through tsx for other logs', async () => {
    const { module, loadedBy } = await loadReplayModule({ kind: 'memory' });
    expect(loadedBy).toBe('tsx');
    expect(typeof module.replayShare).toBe('function');
  });
});
