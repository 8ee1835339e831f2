/** Loads encoding-vectors.json from the repository's copy of the shared vectors (test/vectors). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENCODING_VECTORS_FILE, vectorsDir } from '../vectors/vectorFiles.ts';

export { vectorsDir } from '../vectors/vectorFiles.ts';

interface SessionItemVector {
  peer: number;
  item: string;
  acceptedItem?: string;
}

export interface EncodingVectors {
  bigsize: { value: string; hex: string }[];
  bigsizeRejected: string[];
  merkle: { leaves: string[]; root: string }[];
  header: { session: number; items: SessionItemVector[]; header: string }[];
  federation: { secretKeys: string[]; keys: Record<string, string>; encodedKeys: string; tag: string; threshold: number };
  transaction: { description: string; recipientSecretKey: string; encoded: string; txid: string; consensusItem: string };
  session: {
    session: number;
    items: Required<SessionItemVector>[];
    header: string;
    signedDigest: string;
    signaturesAuxRandZero: Record<string, string>;
  };
  /** A batch lists its items' hex, a signature its 64 bytes' hex. */
  unitData: { description: string; encoded: string; items?: string[]; signature?: string }[];
  unitDataRejected: { description: string; encoded: string }[];
}

export const encodingVectors = JSON.parse(readFileSync(join(vectorsDir, ENCODING_VECTORS_FILE), 'utf8')) as EncodingVectors;
