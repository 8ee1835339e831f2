import type { UnitSigner } from '../../../../src/consensus/broadcast/signer.ts';

/** A signer that counts the signature verifications asked of it: the CPU a peer can make us spend. */
export interface CountingSigner extends UnitSigner {
  readonly verifications: number;
  /** Verifications of signatures claimed to be by `peer`. */
  verificationsOf(peer: number): number;
}

export function countVerifications(inner: UnitSigner): CountingSigner {
  const byPeer = new Map<number, number>();
  let total = 0;
  return {
    peer: inner.peer,
    n: inner.n,
    sign: (message) => inner.sign(message),
    verify(peer, message, signature) {
      total++;
      byPeer.set(peer, (byPeer.get(peer) ?? 0) + 1);
      return inner.verify(peer, message, signature);
    },
    get verifications() {
      return total;
    },
    verificationsOf: (peer) => byPeer.get(peer) ?? 0,
  };
}
