import type { SignedUnit } from '../unit.ts';

/**
 * Before creating anything, a node asks its peers for its own newest unit: if its backup was lost or
 * is stale, creating again would fork itself. Creation may start once threshold - 1 peers answered.
 * A peer counts as answered only once its answer checked out: the nonce of this run, and either no
 * unit or a valid unit of ours (an answer carrying a bad or foreign unit does not count, and that
 * peer is asked again). The session is checked by the wire envelope before this sees anything.
 */
export interface StartupCheck {
  start(): void;
  onResponse(from: number, response: { nonce: bigint; unit: SignedUnit | undefined }): void;
  readonly answered: number;
}

export function createStartupCheck(options: {
  n: number;
  self: number;
  needed: number;
  nonce: bigint;
  ask: (peer: number, nonce: bigint) => void;
  after: (ms: number, task: () => void) => void;
  firstDelayMs: number;
  maxDelayMs: number;
  /** Takes in the unit of an answer; false when it is invalid. */
  accept: (from: number, unit: SignedUnit) => boolean;
  onPassed: () => void;
}): StartupCheck {
  const { n, self, nonce } = options;
  const answered = new Set<number>();
  let passed = false;

  return {
    get answered() {
      return answered.size;
    },
    start() {
      let delay = options.firstDelayMs;
      const ask = () => {
        if (passed) return;
        for (let p = 0; p < n; p++) if (p !== self && !answered.has(p)) options.ask(p, nonce);
        options.after(delay, ask);
        delay = Math.min(2 * delay, options.maxDelayMs);
      };
      ask();
    },
    onResponse(from, { nonce: answeredNonce, unit }) {
      // Late answers still count for their unit: a peer holding a newer own unit must halt creation.
      if (answeredNonce !== nonce || answered.has(from)) return;
      if (unit !== undefined && (unit.preUnit.creator !== self || !options.accept(from, unit))) return;
      answered.add(from);
      if (!passed && answered.size >= options.needed) {
        passed = true;
        options.onPassed();
      }
    },
  };
}
