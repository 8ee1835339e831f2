/** The load client's transactions: nonces and signed encodings, built with as little work as the client can do. */
import { createHash, randomBytes } from 'node:crypto';
import type { SchnorrBackend } from '../domain/signatureBackend.ts';
import { encodeTransaction, type Input, type Output } from '../domain/transaction.ts';

/**
 * Transaction nonces: a random 8 bytes once, then counting up (big-endian, wrapping). Nonces only
 * keep equal inputs and outputs apart in their txids; one random draw per transaction cost the
 * client more than the count.
 */
export function nonceCounter(): () => Uint8Array {
  let next = randomBytes(8).readBigUInt64BE(0);
  return () => {
    const nonce = Buffer.allocUnsafe(8);
    nonce.writeBigUInt64BE(next);
    next = (next + 1n) & 0xffff_ffff_ffff_ffffn;
    return nonce;
  };
}

/**
 * `buildTransaction` + `encodeTransaction` + hex, with one encoding and native sha256 and hex:
 * the encoding without signatures is the txid's preimage followed by enc(empty Vec), a single 0x00,
 * so the signed encoding is that preimage, the signature count and the signatures.
 */
export function signedTransaction(inputs: Input[], outputs: Output[], secret: Uint8Array, nonce: Uint8Array, backend: SchnorrBackend): { hex: string; txid: string } {
  const unsigned = encodeTransaction({ inputs, outputs, nonce, signatures: [] });
  const preimage = unsigned.subarray(0, unsigned.length - 1);
  const txid = createHash('sha256').update(preimage).digest();
  // One signature per input, all by `secret`; a count below 0xfd is its own one-byte BigSize.
  if (inputs.length >= 0xfd) throw new RangeError('the load client builds transactions of fewer than 253 inputs');
  const parts: Uint8Array[] = [preimage, Uint8Array.of(inputs.length)];
  for (let i = 0; i < inputs.length; i++) parts.push(backend.sign(txid, secret));
  return { hex: Buffer.concat(parts).toString('hex'), txid: txid.toString('hex') };
}
