import { describe, expect, it } from 'vitest';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import { loadBip340Vectors } from './bip340Vectors.ts';
import { describeBip340Conformance } from './bip340Conformance.ts';

const vectors = loadBip340Vectors();

describe('BIP-340 vectors', () => {
  it('covers the whole file: valid and invalid rows, and messages that are not 32 bytes', () => {
    expect(vectors).toHaveLength(19);
    expect(vectors.filter((v) => !v.valid).length).toBeGreaterThan(0);
    expect(vectors.filter((v) => v.message.length !== 32).map((v) => v.message.length)).toEqual([0, 1, 17, 100]);
  });

  describeBip340Conformance('noble (the domain reference backend)', nobleBackend);
});
