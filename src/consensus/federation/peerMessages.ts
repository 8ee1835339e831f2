/**
 * What guardians say to each other over a link, besides the broadcast itself: the consensus hash
 * they run under (checked before the first session), and signed outcomes of completed sessions for
 * a guardian that fell behind. One consensus-encoded enum per frame.
 */
import { bool, bytes, bytes32, decode, encode, enumeration, struct, u64, type DecodeResult } from '../../domain/encoding.ts';

const peerMessageCodec = enumeration({
  /** A broadcast wire message (it carries its own { version, session } envelope). */
  broadcast: [0, bytes],
  /** `answer` is set on the reply to a greeting, which is not replied to again. */
  hello: [1, struct({ consensusHash: bytes32, answer: bool })],
  outcomeRequest: [2, struct({ session: u64 })],
  /** enc(SignedSessionOutcome) of a completed session. */
  outcome: [3, struct({ session: u64, signed: bytes })],
});

export type PeerMessage = ReturnType<typeof peerMessageCodec.decode>;

export const encodePeerMessage = (message: PeerMessage): Uint8Array => encode(peerMessageCodec, message);
export const decodePeerMessage = (frame: Uint8Array): DecodeResult<PeerMessage> => decode(peerMessageCodec, frame);
