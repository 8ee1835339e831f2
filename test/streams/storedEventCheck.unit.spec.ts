import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { eventSchemas, upcastAndValidate, validate } from '../../src/streams/events.ts';
import { certainlyValid } from '../../src/streams/storedEventCheck.ts';
import { sampleEvents } from './fixtures/sampleEvents.ts';

/**
 * The compiled read-path checks may only ever say "valid" where zod says valid; everything else
 * must fall through to zod. Mutations of valid samples probe every field's boundaries.
 */

// Non-ASCII code units whose low byte is a hex digit ('š' is U+0161, 'İ' U+0130, 'ａ' U+FF41) must not pass as hex.
const hexChars = fc.constantFrom(...'0123456789abcdefABCDEFgx'.split(''), '\u0161', '\u0130', '\uff41', '\u0661', '\u0000', '\ud83d');
const fieldValue = fc.oneof(
  fc.string({ unit: hexChars, maxLength: 130 }),
  fc.constantFrom('', '0', '-0', '-1', '01', '1e3', '18446744073709551616', 'local', 'peer', 'mars', 'ab'.repeat(32), 'ab'.repeat(40), 'ab'.repeat(64), 'AB'.repeat(32)),
  fc.integer({ min: -2, max: 70_000 }),
  fc.constantFrom(0.5, -0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Number.POSITIVE_INFINITY),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('0', '1', '00', '65535', '65536', 'x', '__proto__'), fc.constantFrom('cd'.repeat(64), 'CD'.repeat(64), 'cd', 1), { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** JSON.parse(JSON.stringify(x)) when x has a JSON form: stored data always went through JSON. */
function throughJson(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

describe('compiled read-path event checks', () => {
  it('accept every valid sample, as zod does', () => {
    for (const event of sampleEvents) {
      if (event.type === 'FederationConfigured') continue;
      expect(certainlyValid(event.type, throughJson(event.data)), event.type).toBe(true);
    }
  });

  it('never accept what zod refuses (seeded field mutations of valid samples)', () => {
    const samples = sampleEvents.filter((e) => e.type !== 'FederationConfigured');
    const mutation = fc.record({
      sample: fc.integer({ min: 0, max: samples.length - 1 }),
      field: fc.oneof(fc.constantFrom('session', 'index', 'peer', 'item', 'itemHash', 'txid', 'netAssets', 'reason', 'signature', 'valid', 'header', 'itemCount', 'signatures', 'source', 'creator', 'round', 'hash', 'data', 'unit', 'projection', 'version', 'position', 'state', 'stateHash', 'extra')),
      value: fieldValue,
      remove: fc.boolean(),
      viaJson: fc.boolean(),
    });
    let accepted = 0;
    fc.assert(
      fc.property(mutation, ({ sample, field, value, remove, viaJson }) => {
        const { type, data } = samples[sample]!;
        const mutated: Record<string, unknown> = { ...(data as Record<string, unknown>) };
        if (remove) delete mutated[field];
        else mutated[field] = value;
        const input = viaJson ? throughJson(mutated) : mutated;
        const zod = validate(type, input);
        if (certainlyValid(type, input)) {
          accepted++;
          expect(zod).toEqual({ ok: true, data: input });
        }
      }),
      { seed: 4242, numRuns: 4000 },
    );
    // The probe is only meaningful if it also hit accepted mutations.
    expect(accepted).toBeGreaterThan(20);
  });

  it('refuse hex with any character outside 0-9a-f, at any place, in every hex field', () => {
    const item = sampleEvents.find((e) => e.type === 'ItemAccepted')!.data as Record<string, unknown>;
    for (const valid of ['ab'.repeat(37), '0123456789abcdef'.repeat(20)]) {
    expect(certainlyValid('ItemAccepted', { ...item, item: valid })).toBe(true);
    for (const bad of ['A', 'F', 'g', '/', ':', '`', 'G', ' ', '\u0161', '\u0130', '\uff41', '\u0030\u0300', '\u0000', '\u0130'.normalize('NFD')]) {
      // Every position of the unrolled loop's phase, and the tail.
      for (const at of [0, 1, 2, 3, 4, 5, 70, 71, 72, valid.length - 3, valid.length - 2, valid.length - 1]) {
        const place = (hex: string, i: number) => hex.slice(0, i) + bad + hex.slice(i + bad.length);
        const item74 = place(valid, Math.min(at, valid.length - bad.length));
        expect(item74).toHaveLength(valid.length);
        expect(certainlyValid('ItemAccepted', { ...item, item: item74 }), JSON.stringify([bad, at])).toBe(false);
        const hash = place(valid.slice(0, 64), Math.min(at, 64 - bad.length));
        expect(certainlyValid('ItemAccepted', { ...item, itemHash: hash }), JSON.stringify([bad, at])).toBe(false);
      }
    }
    }
    // Odd lengths are not whole bytes.
    expect(certainlyValid('ItemAccepted', { ...item, item: 'abc' })).toBe(false);
  });

  it('agree with the hex regex on every UTF-16 code unit, in short and long hex (both ways of checking)', () => {
    const zodHex = /^(?:[0-9a-f]{2})*$/;
    for (const length of [6, 64, 300]) {
      const valid = '0123456789abcdef'.repeat(40).slice(0, length);
      // Positions in each byte of a 32-bit word, and in the last (padded) word.
      const places = [0, 1, 2, 3, 5, length - 3, length - 2, length - 1];
      for (let unit = 0; unit < 0x10000; unit++) {
        const char = String.fromCharCode(unit);
        for (const at of places) {
          const unitHex = valid.slice(0, at) + char + valid.slice(at + 1);
          const accepted = certainlyValid('UnitSaved', { session: 0, unit: unitHex });
          if (accepted !== zodHex.test(unitHex)) expect.fail(`code unit ${unit.toString(16)} at ${at} of ${length}: ${String(accepted)}`);
        }
      }
    }
    // A non-ASCII character may carry into its neighbour's byte: it still fails.
    expect(certainlyValid('UnitSaved', { session: 0, unit: '\u00ff\u00ff' + 'ab'.repeat(100) })).toBe(false);
    expect(certainlyValid('UnitSaved', { session: 0, unit: 'ab'.repeat(100) + '\ud83d\ude00' })).toBe(false);
    expect(certainlyValid('UnitSaved', { session: 0, unit: 'ab'.repeat(40_000) })).toBe(true);
    expect(certainlyValid('UnitSaved', { session: 0, unit: 'ab'.repeat(40_000) + 'g0' })).toBe(false);
  });

  it('answer the same whatever the order of the keys (stored order is only the fast case)', () => {
    const reversed = (data: object) => Object.fromEntries(Object.entries(data).reverse());
    for (const { type, data } of sampleEvents) {
      if (type === 'FederationConfigured') continue;
      const json = throughJson(data) as Record<string, unknown>;
      expect(certainlyValid(type, reversed(json)), type).toBe(true);
      const [first] = Object.keys(json);
      const { [first!]: _dropped, ...withoutFirst } = json;
      for (const variant of [{ ...json, extra: 1 }, { extra: 1, ...json }, reversed({ ...json, extra: 1 }), withoutFirst, reversed(withoutFirst), { ...withoutFirst, [first!]: undefined }]) {
        expect(certainlyValid(type, variant), `${type} ${JSON.stringify(Object.keys(variant))}`).toBe(false);
      }
    }
    const item = throughJson(sampleEvents.find((e) => e.type === 'ItemAccepted')!.data) as Record<string, unknown>;
    const { txid: _txid, ...withoutTxid } = item;
    expect(certainlyValid('ItemAccepted', withoutTxid)).toBe(true);
    expect(certainlyValid('ItemAccepted', reversed(withoutTxid))).toBe(true);
  });

  it('leave non-JSON snapshot states (and unusual keys) to zod', () => {
    const snapshot = sampleEvents.find((e) => e.type === 'SnapshotTaken')!.data as Record<string, unknown>;
    for (const state of [{ a: Number.NaN }, { a: 1n }, { a: undefined }, [() => 1], new Map(), JSON.parse('{"__proto__": 1}') as unknown]) {
      expect(certainlyValid('SnapshotTaken', { ...snapshot, state })).toBe(false);
    }
    expect(certainlyValid('SnapshotTaken', { ...snapshot, state: { deep: [[[{ x: 'y', n: 1.5, b: false, z: null }]]] } })).toBe(true);
  });

  it('are what upcastAndValidate uses on read, with zod still naming the failing field', () => {
    const item = sampleEvents.find((e) => e.type === 'ItemAccepted')!;
    expect(upcastAndValidate('ItemAccepted', eventSchemas.ItemAccepted.version, throughJson(item.data))).toEqual({ ok: true, data: item.data });
    const bad = upcastAndValidate('ItemAccepted', eventSchemas.ItemAccepted.version, { ...(item.data as object), item: 'XY' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/item/);
  });
});
