import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptEventError } from '../../src/streams/errors.ts';
import { decodeEvent } from '../../src/streams/storedEvent.ts';

/**
 * decodeEvent reads the metadata the schema decorator stamps without JSON.parse (and reuses the
 * previous row's fields when the text repeats): whatever the text, the result must be exactly
 * what JSON.parse gives, a fresh object per event, and a corrupt text must fail as before.
 */

const decodeMetadata = (metadata: string, position = 1n) => decodeEvent(position, 's', 0, 'id', 'T', '{}', metadata).metadata;

/** Strings JSON escapes or the fast path must refuse: quotes, backslashes, control and non-ASCII characters. */
const awkwardText = fc.string({ unit: fc.constantFrom('a', '0', ':', '"', '\\', '\u0000', '\u001f', '\n', '\u2028', 'é', '✓', '\ud83d', '\ude00', ' '), maxLength: 8 });
const metadataValue = fc.oneof(
  fc.integer({ min: -5, max: 2_000_000_000 }),
  fc.constantFrom(0, 1, 2, 999_999_999, 1_000_000_000, 2 ** 53, 1.5, -0, 1e21),
  awkwardText,
  fc.constantFrom('2026-11-25T18:30:31.343Z', 'then', ''),
  fc.constant(null),
  fc.boolean(),
);
const stampedShape = fc.record({ schemaVersion: metadataValue, guardian: metadataValue, recordedAt: metadataValue });

describe('decodeEvent metadata', () => {
  it('equals JSON.parse for stamped metadata and any variation of it, key order included', () => {
    const texts = fc.oneof(
      stampedShape.map((m) => JSON.stringify(m)),
      // Extra, missing and reordered keys, and whitespace JSON allows.
      fc.record({ recordedAt: metadataValue, schemaVersion: metadataValue, guardian: metadataValue }).map((m) => JSON.stringify(m)),
      fc.record({ schemaVersion: metadataValue, guardian: metadataValue, recordedAt: metadataValue, extra: metadataValue }).map((m) => JSON.stringify(m)),
      fc.record({ schemaVersion: metadataValue, guardian: metadataValue }).map((m) => JSON.stringify(m)),
      stampedShape.map((m) => JSON.stringify(m, null, 1)),
      fc.constantFrom('{"schemaVersion":1,"guardian":0,"recordedAt":"a\\u0041"}', '{"schemaVersion":01,"guardian":0,"recordedAt":"x"}', '{"schemaVersion":1,"guardian":0,"recordedAt":"x"} ', '{"schemaVersion":1,"guardian":0,"recordedAt":"x","recordedAt":"y"}'),
    );
    fc.assert(
      fc.property(fc.array(texts, { minLength: 1, maxLength: 4 }), (batch) => {
        // Repeats exercise the reuse of the previous row's fields.
        for (const text of [...batch, ...batch, batch[0]!]) {
          let expected: unknown;
          try {
            expected = JSON.parse(text);
          } catch {
            expect(() => decodeMetadata(text)).toThrow(CorruptEventError);
            continue;
          }
          if (typeof expected !== 'object' || expected === null || Array.isArray(expected)) continue;
          const decoded = decodeMetadata(text);
          expect(decoded).toEqual(expected);
          expect(Object.keys(decoded)).toEqual(Object.keys(expected));
        }
      }),
      { seed: 7_031, numRuns: 1500 },
    );
  });

  it('gives every event its own metadata object, also when the text repeats', () => {
    const text = '{"schemaVersion":1,"guardian":3,"recordedAt":"2026-11-25T18:30:31.343Z"}';
    const first = decodeMetadata(text);
    const second = decodeMetadata(text);
    expect(second).not.toBe(first);
    first.guardian = 9;
    expect(decodeMetadata(text)).toEqual({ schemaVersion: 1, guardian: 3, recordedAt: '2026-11-25T18:30:31.343Z' });
  });

  it('reports metadata that is not a JSON object, with the position', () => {
    for (const [text, reason] of [
      ['garbage', /metadata is not JSON/],
      ['{"schemaVersion":1,"guardian":0,"recordedAt":"x"', /metadata is not JSON/],
      ['[1]', /metadata is not a JSON object/],
      ['null', /metadata is not a JSON object/],
      ['"{}"', /metadata is not a JSON object/],
    ] as const) {
      expect(() => decodeMetadata(text, 42n)).toThrow(reason);
      try {
        decodeMetadata(text, 42n);
      } catch (error) {
        expect(error).toMatchObject({ name: 'CorruptEventError', position: 42n });
      }
    }
  });

  it('reports data that is not JSON before looking at the metadata', () => {
    expect(() => decodeEvent(5n, 's', 0, 'id', 'T', '{"a":', 'garbage')).toThrow(/position 5.*data is not JSON/);
  });
});
