import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFrameDecoder, encodeFrame } from '../../../src/consensus/transport/frames.ts';

/** Cuts `bytes` at the given offsets, as TCP and TLS records may. */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  return pieces;
}

describe('frames', () => {
  it('gives back the same payloads, in order, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (payloads, offsets) => {
        const stream = Buffer.concat(payloads.map(encodeFrame));
        const decoder = createFrameDecoder(300);
        const decoded = cut(stream, offsets).flatMap((piece) => {
          const result = decoder.push(piece);
          expect(result.ok).toBe(true);
          return result.frames;
        });
        expect(decoded).toEqual(payloads);
        expect(decoder.buffered).toBe(0);
      }),
      { seed: 15, numRuns: 200 },
    );
  });

  it('refuses a frame over the limit as soon as its header arrives, keeping the frames before it', () => {
    const decoder = createFrameDecoder(16);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffff_ffff);
    const result = decoder.push(Buffer.concat([encodeFrame(new Uint8Array([1, 2])), header]));
    expect(result).toEqual({ ok: false, frames: [new Uint8Array([1, 2])], violation: { kind: 'frame-too-large', length: 0xffff_ffff, limit: 16 } });
  });

  it('accepts a frame of exactly the limit and an empty one', () => {
    const decoder = createFrameDecoder(16);
    const result = decoder.push(Buffer.concat([encodeFrame(new Uint8Array(16)), encodeFrame(new Uint8Array(0))]));
    expect(result).toEqual({ ok: true, frames: [new Uint8Array(16), new Uint8Array(0)] });
  });
});
