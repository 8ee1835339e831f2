/**
 * Collecting the signatures of header(i) from ordered units until `threshold` valid ones from
 * distinct peers: each peer's first valid signature counts; an invalid one is remembered once per
 * peer (to be recorded as such) and never counted, so a byzantine peer cannot stall or fake the count.
 */
import type { PeerId } from '../../domain/federation.ts';

export interface SignatureCollection {
  /** Offers `peer`'s signature; true when it was counted. */
  offer(peer: PeerId, signature: Uint8Array): boolean;
  readonly complete: boolean;
  readonly valid: ReadonlyMap<PeerId, Uint8Array>;
  /** The first invalid signature of each peer that never gave a valid one. */
  readonly invalid: ReadonlyMap<PeerId, Uint8Array>;
}

export interface SignatureCollectionOptions {
  header: Uint8Array;
  threshold: number;
  /** Whether `signature` is `peer`'s over the header; false for peers outside the federation. */
  verify(peer: PeerId, header: Uint8Array, signature: Uint8Array): boolean;
  /** Valid signatures recorded before a restart. */
  recorded?: ReadonlyMap<PeerId, Uint8Array>;
}

export function createSignatureCollection(options: SignatureCollectionOptions): SignatureCollection {
  const valid = new Map<PeerId, Uint8Array>();
  const invalid = new Map<PeerId, Uint8Array>();
  const offer = (peer: PeerId, signature: Uint8Array): boolean => {
    if (valid.has(peer)) return false;
    if (!options.verify(peer, options.header, signature)) {
      if (!invalid.has(peer)) invalid.set(peer, signature);
      return false;
    }
    invalid.delete(peer);
    valid.set(peer, signature);
    return true;
  };
  // A recorded signature is re-checked: it must be over this very header.
  for (const [peer, signature] of options.recorded ?? []) offer(peer, signature);
  invalid.clear();
  return {
    offer,
    get complete() {
      return valid.size >= options.threshold;
    },
    valid,
    invalid,
  };
}
