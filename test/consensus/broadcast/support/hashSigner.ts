import { sha256Concat } from '../../../../src/domain/hashing.ts';
import type { UnitSigner } from '../../../../src/consensus/broadcast/signer.ts';

/**
 * A cheap deterministic stand-in for BIP-340 in large simulations: signature = H(secret || m) twice.
 * Every secret is derivable from the peer index, so it proves nothing: simulations only.
 */
export function createHashSigner(peer: number, n: number): UnitSigner {
  const secretOf = (p: number) => new TextEncoder().encode(`simulation-secret-${p}`);
  const signAs = (p: number, message: Uint8Array) => {
    const half = sha256Concat(secretOf(p), message);
    const out = new Uint8Array(64);
    out.set(half, 0);
    out.set(half, 32);
    return out;
  };
  return {
    peer,
    n,
    sign: (message) => signAs(peer, message),
    verify(from, message, signature) {
      if (from < 0 || from >= n || signature.length !== 64) return false;
      const expected = signAs(from, message);
      return expected.every((b, i) => b === signature[i]);
    },
  };
}
