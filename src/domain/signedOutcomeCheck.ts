/**
 * The one threshold check of a signed session outcome (DESIGN.md): valid when at least `threshold`
 * signatures, from distinct peers of the federation, verify against the session's header. Used by
 * the engine, replay and `fedlog verify`.
 *
 * In two steps for callers that verify many signatures in one batch (worker threads): `planSignedOutcomeCheck`
 * gives the signature checks to run, `concludeSignedOutcomeCheck` reads their answers. `checkSignedOutcome`
 * runs both with a backend.
 */
import { federationTag, threshold as thresholdOf, type FederationKeys, type PeerId } from './federation.ts';
import { hexToBytes, signedDigest } from './hashing.ts';
import type { SchnorrBackend, SignatureCheck } from './signatureBackend.ts';

/** As an outcome carries them (a map), or as JSON and the log carry them: decimal peer id -> lowercase hex. */
export type OutcomeSignatures = ReadonlyMap<PeerId, Uint8Array> | Readonly<Record<string, string>>;

export interface SignedOutcomeInput {
  /** header(i), the message every guardian signs. */
  header: Uint8Array;
  signatures: OutcomeSignatures;
  keys: FederationKeys;
  /** Default threshold(keys.size). */
  threshold?: number;
  /** Default federationTag(keys); a caller checking many sessions computes it once. */
  tag?: Uint8Array;
}

export interface SignedOutcomeCheck {
  /** Federation peers whose signature of the header verifies, ascending: the ones that count. */
  valid: PeerId[];
  /** Federation peers whose signature does not verify or is not 64 bytes (of hex), ascending. */
  invalid: PeerId[];
  /** Signers that are not federation peers, as named (a non-canonical decimal names no peer). */
  unknown: string[];
  /** Signatures present, of any kind. */
  present: number;
  threshold: number;
  /** valid.length >= threshold. */
  met: boolean;
}

/** What to verify for one outcome, and what is decided without verifying. */
export interface SignedOutcomePlan {
  /** One per federation peer with a well-formed signature, in `peers` order. */
  checks: SignatureCheck[];
  peers: PeerId[];
  malformed: PeerId[];
  unknown: string[];
  present: number;
  threshold: number;
}

// A record's values are strings, so even a peer named "entries" cannot pass for a map.
const isMap = (signatures: OutcomeSignatures): signatures is ReadonlyMap<PeerId, Uint8Array> => typeof (signatures as { entries?: unknown }).entries === 'function';

const CANONICAL_PEER = /^(0|[1-9][0-9]{0,4})$/;
const SIGNATURE_HEX = /^[0-9a-f]{128}$/;

export function planSignedOutcomeCheck({ header, signatures, keys, threshold = thresholdOf(keys.size), tag = federationTag(keys) }: SignedOutcomeInput): SignedOutcomePlan {
  const digest = signedDigest(tag, header);
  const plan: SignedOutcomePlan = { checks: [], peers: [], malformed: [], unknown: [], present: 0, threshold };
  const consider = (name: string, peer: PeerId | undefined, signature: Uint8Array | undefined) => {
    plan.present++;
    // Only a canonical id names a peer: "01" beside "1" must not let one guardian count twice.
    const publicKey = peer === undefined ? undefined : keys.get(peer);
    if (peer === undefined || publicKey === undefined) plan.unknown.push(name);
    else if (signature === undefined || signature.length !== 64) plan.malformed.push(peer);
    else {
      plan.peers.push(peer);
      plan.checks.push({ signature, message: digest, publicKey });
    }
  };
  if (isMap(signatures)) {
    for (const [peer, signature] of signatures) consider(String(peer), peer, signature);
  } else {
    for (const [name, hex] of Object.entries(signatures as Readonly<Record<string, string>>)) {
      consider(name, CANONICAL_PEER.test(name) ? Number(name) : undefined, typeof hex === 'string' && SIGNATURE_HEX.test(hex) ? hexToBytes(hex) : undefined);
    }
  }
  return plan;
}

/** The check's result from `plan` and one answer per `plan.checks` entry, in order. */
export function concludeSignedOutcomeCheck(plan: SignedOutcomePlan, answers: readonly boolean[]): SignedOutcomeCheck {
  if (answers.length !== plan.checks.length) throw new RangeError(`${answers.length} answers for ${plan.checks.length} signature checks`);
  const valid = plan.peers.filter((_, i) => answers[i] === true);
  const invalid = [...plan.malformed, ...plan.peers.filter((_, i) => answers[i] !== true)];
  const ascending = (a: number, b: number) => a - b;
  return { valid: valid.sort(ascending), invalid: invalid.sort(ascending), unknown: plan.unknown, present: plan.present, threshold: plan.threshold, met: valid.length >= plan.threshold };
}

export function checkSignedOutcome(input: SignedOutcomeInput & { backend: SchnorrBackend }): SignedOutcomeCheck {
  const plan = planSignedOutcomeCheck(input);
  return concludeSignedOutcomeCheck(plan, plan.checks.map((c) => input.backend.verify(c.signature, c.message, c.publicKey)));
}
