import { describe, expect, it } from 'vitest';
import { broadcastConfig } from '../../../../src/consensus/broadcast/config.ts';
import { validateUnit } from '../../../../src/consensus/broadcast/dag/validation.ts';
import { combinedHash, withHash, type PreUnit, type SignedUnit } from '../../../../src/consensus/broadcast/unit.ts';
import { hexToBytes } from '../../../../src/domain/hashing.ts';
import { createHashSigner } from '../support/hashSigner.ts';

const n = 4;
const config = broadcastConfig({ n, peer: 0, session: 3n, roundsPerSession: 10 });
const signer = createHashSigner(0, n);

function signed(preUnit: PreUnit): SignedUnit {
  const hash = withHash({ preUnit, signature: new Uint8Array(64) }).hash;
  return { preUnit, signature: createHashSigner(preUnit.creator, n).sign(hexToBytes(hash)) };
}

function unit(overrides: Partial<PreUnit> & { parents?: (number | undefined)[] }): SignedUnit {
  const parents = overrides.parents ?? [0, 0, 0, undefined];
  return signed({
    creator: 1,
    round: 1,
    session: 3n,
    data: new Uint8Array([1]),
    ...overrides,
    controlHash: { parents, combinedHash: combinedHash([]) },
  });
}

const check = (u: SignedUnit) => validateUnit(withHash(u), config, signer);

describe('unit validity', () => {
  it('accepts a round-1 unit with its own parent and threshold parents below', () => {
    expect(check(unit({}))).toEqual({ ok: true });
  });
  it('rejects a unit of another session', () => {
    expect(check(unit({ session: 4n }))).toEqual({ ok: false, reason: 'wrongSession' });
  });
  it('rejects a round above roundsPerSession + 1000', () => {
    expect(check(unit({ round: 1011, parents: [1010, 1010, 1010, undefined] }))).toEqual({ ok: false, reason: 'roundTooHigh' });
  });
  it('rejects parents at round 0', () => {
    expect(check(unit({ round: 0 }))).toEqual({ ok: false, reason: 'roundZeroWithParents' });
  });
  it('rejects a unit without its own parent one round below', () => {
    expect(check(unit({ parents: [0, undefined, 0, 0] }))).toEqual({ ok: false, reason: 'missingOwnParent' });
  });
  it('rejects fewer than threshold parents one round below', () => {
    expect(check(unit({ round: 2, parents: [1, 1, 0, 0] }))).toEqual({ ok: false, reason: 'notEnoughParents' });
  });
  it('rejects a parent above round - 1', () => {
    expect(check(unit({ round: 2, parents: [1, 1, 1, 2] }))).toEqual({ ok: false, reason: 'parentAboveRound' });
  });
  it('rejects a parent list that is not one entry per creator', () => {
    expect(check(unit({ parents: [0, 0, 0] }))).toEqual({ ok: false, reason: 'wrongParentCount' });
  });
  it('rejects a signature by another peer', () => {
    const u = unit({});
    expect(check({ ...u, signature: createHashSigner(2, n).sign(hexToBytes(withHash(u).hash)) })).toEqual({ ok: false, reason: 'badSignature' });
  });
});
