/**
 * Frames on a link: a u32 big-endian payload length, then the payload. TLS gives a byte stream;
 * frames give the broadcast back its messages, one at a time and in order.
 */

export const frameHeaderBytes = 4;

/** One buffer (header and payload) so a frame is a single socket write. */
export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, frameHeaderBytes);
  return frame;
}

export type FrameViolation = { kind: 'frame-too-large'; length: number; limit: number };

export type DecodeResult = { ok: true; frames: Uint8Array[] } | { ok: false; frames: Uint8Array[]; violation: FrameViolation };

/**
 * Splits a byte stream into frames. The length is checked as soon as the header arrives, so a peer
 * that announces a huge frame is cut off before we buffer any of it.
 */
export interface FrameDecoder {
  push(chunk: Uint8Array): DecodeResult;
  /** Bytes received but not yet part of a whole frame. */
  readonly buffered: number;
}

export function createFrameDecoder(maxFrameBytes: number): FrameDecoder {
  // Chunks are kept as they arrive and joined once a frame is whole, so a large frame arriving in
  // many small TLS records costs one copy, not one per record.
  let chunks: Buffer[] = [];
  let buffered = 0;
  let expected: number | undefined;

  function take(count: number): Buffer {
    const joined = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, buffered);
    const taken = joined.subarray(0, count);
    const rest = joined.subarray(count);
    chunks = rest.length === 0 ? [] : [rest];
    buffered = rest.length;
    return taken;
  }

  return {
    get buffered() {
      return buffered;
    },
    push(chunk) {
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      buffered += chunk.byteLength;
      const frames: Uint8Array[] = [];
      for (;;) {
        if (expected === undefined) {
          if (buffered < frameHeaderBytes) return { ok: true, frames };
          const length = take(frameHeaderBytes).readUInt32BE(0);
          if (length > maxFrameBytes) return { ok: false, frames, violation: { kind: 'frame-too-large', length, limit: maxFrameBytes } };
          expected = length;
        }
        if (buffered < expected) return { ok: true, frames };
        // A copy: the payload must not keep the (possibly much larger) joined receive buffer alive.
        frames.push(new Uint8Array(take(expected)));
        expected = undefined;
      }
    },
  };
}
