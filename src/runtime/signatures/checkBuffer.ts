import type { SignatureCheck } from '../../domain/signatureBackend.ts';

/**
 * Signature checks packed into one ArrayBuffer, so a chunk of a batch crosses to a worker thread as a
 * single transferable message instead of one structured clone per signature.
 *
 * Layout: u32 count, then count x (u32 signature length, u32 message length, u32 key length) in
 * platform byte order (both ends are the same process), then every check's bytes in that order.
 */

export function packChecks(checks: readonly SignatureCheck[]): ArrayBuffer {
  const headerBytes = 4 * (1 + 3 * checks.length);
  let dataBytes = 0;
  for (const c of checks) dataBytes += c.signature.length + c.message.length + c.publicKey.length;
  const buffer = new ArrayBuffer(headerBytes + dataBytes);
  const header = new Uint32Array(buffer, 0, 1 + 3 * checks.length);
  const bytes = new Uint8Array(buffer);
  header[0] = checks.length;
  let offset = headerBytes;
  checks.forEach((c, i) => {
    header[1 + 3 * i] = c.signature.length;
    header[2 + 3 * i] = c.message.length;
    header[3 + 3 * i] = c.publicKey.length;
    for (const part of [c.signature, c.message, c.publicKey]) {
      bytes.set(part, offset);
      offset += part.length;
    }
  });
  return buffer;
}

/** Views into `buffer` (no copies): the checks must not outlive the buffer's owner. */
export function unpackChecks(buffer: ArrayBuffer): SignatureCheck[] {
  const count = new Uint32Array(buffer, 0, 1)[0] ?? 0;
  const header = new Uint32Array(buffer, 0, 1 + 3 * count);
  const checks: SignatureCheck[] = [];
  let offset = 4 * (1 + 3 * count);
  const take = (length: number) => {
    const view = new Uint8Array(buffer, offset, length);
    offset += length;
    return view;
  };
  for (let i = 0; i < count; i++) {
    const signature = take(header[1 + 3 * i] ?? 0);
    const message = take(header[2 + 3 * i] ?? 0);
    const publicKey = take(header[3 + 3 * i] ?? 0);
    checks.push({ signature, message, publicKey });
  }
  return checks;
}
