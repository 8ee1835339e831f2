import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import { BIP340_VECTORS_FILE, vectorsDir } from '../../vectors/vectorFiles.ts';

/** One row of the BIP-340 reference vectors (the repository's copy, test/vectors), shared by every signature test. */
export interface Bip340Vector {
  index: number;
  secretKey?: Uint8Array;
  publicKey: Uint8Array;
  auxRand?: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
  valid: boolean;
  comment: string;
}

export const bip340VectorsPath = join(vectorsDir, BIP340_VECTORS_FILE);

export function loadBip340Vectors(): Bip340Vector[] {
  const [header, ...lines] = readFileSync(bip340VectorsPath, 'utf8').trim().split(/\r?\n/);
  if (header !== 'index,secret key,public key,aux_rand,message,signature,verification result,comment') {
    throw new Error(`unexpected BIP-340 vector header: ${header}`);
  }
  return lines.map((line) => {
    const [index, secretKey, publicKey, auxRand, message, signature, result, ...comment] = line.split(',');
    if (result !== 'TRUE' && result !== 'FALSE') throw new Error(`bad verification result in row: ${line}`);
    return {
      index: Number(index),
      ...(secretKey ? { secretKey: hexToBytes(secretKey) } : {}),
      publicKey: hexToBytes(publicKey ?? ''),
      ...(auxRand ? { auxRand: hexToBytes(auxRand) } : {}),
      message: hexToBytes(message ?? ''),
      signature: hexToBytes(signature ?? ''),
      valid: result === 'TRUE',
      comment: comment.join(','),
    };
  });
}
