/**
 * Lowercase hex through Node's native Buffer codec, for the engine's hot paths: the domain's
 * portable codec builds strings a byte at a time, and the hex of every recorded item was once the
 * engine's largest source of garbage.
 */

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * The bytes of non-empty hex (either case) of whole bytes, else undefined. Node's decoder stops at
 * the first pair that is not hex, so a short count means the text was not all hex.
 */
export function bytesOfHex(hex: string): Uint8Array | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  const written = Buffer.from(bytes.buffer).write(hex, 'hex');
  return written === bytes.length ? bytes : undefined;
}
