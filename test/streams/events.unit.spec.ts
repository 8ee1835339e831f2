import { describe, expect, it } from 'vitest';
import { eventSchemas, newEvent, streams, upcastAndValidate, validate } from '../../src/streams/events.ts';
import { sampleEvents } from './fixtures/sampleEvents.ts';

describe('event schemas', () => {
  it('has a sample for every event type, and every sample is valid', () => {
    expect(sampleEvents.map((e) => e.type).sort()).toEqual(Object.keys(eventSchemas).sort());
    for (const event of sampleEvents) expect(validate(event.type, event.data)).toEqual({ ok: true, data: event.data });
  });

  it.each([
    ['uppercase hex', 'UnitSaved', { session: 0, unit: 'ABCD' }],
    ['odd-length hex', 'UnitSaved', { session: 0, unit: 'abc' }],
    ['a hash of the wrong length', 'ItemRejected', { session: 0, peer: 0, itemHash: 'aa', reason: 'x' }],
    ['a negative session', 'UnitSaved', { session: -1, unit: '' }],
    ['a peer id above u16', 'SignatureRecorded', { session: 0, peer: 70000, signature: 'ab'.repeat(64), valid: true }],
    ['net assets that are not a decimal', 'ItemAccepted', { session: 0, index: 0, peer: 0, item: '', itemHash: 'aa'.repeat(32), netAssets: '1e3' }],
    ['an unknown field', 'UnitSaved', { session: 0, unit: '', extra: 1 }],
    ['a missing field', 'SessionCompleted', { session: 0, header: 'aa'.repeat(40), itemCount: 0, signatures: {} }],
    ['an unknown source', 'SessionCompleted', { session: 0, header: 'aa'.repeat(40), itemCount: 0, signatures: {}, source: 'mars' }],
    ['a signature map keyed by a non-peer', 'SessionCompleted', { session: 0, header: 'aa'.repeat(40), itemCount: 0, signatures: { x: 'ab'.repeat(64) }, source: 'local' }],
    ['a withdraw fee above u64', 'FederationConfigured', { ...sampleEvents[0]!.data, modules: { wallet: { withdrawFeeMsat: '18446744073709551616' }, mint: {} } }],
  ] as const)('refuses %s', (_label, type, data) => {
    const result = validate(type, data);
    expect(result.ok).toBe(false);
  });

  it('names the failing field in the reason', () => {
    const result = validate('UnitSaved', { session: 0, unit: 'XYZ' });
    expect(result).toMatchObject({ ok: false });
    expect(!result.ok && result.reason).toMatch(/unit/);
  });

  it('refuses an unknown event type', () => {
    expect(validate('Nope', {})).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown event type/) as unknown });
  });
});

describe('upcasting', () => {
  const v1 = { session: 4, header: 'ab'.repeat(40), itemCount: 2, signatures: { '0': 'cd'.repeat(64) } };

  it('upcasts SessionCompleted v1 (no source) to v2 with source local', () => {
    expect(eventSchemas.SessionCompleted.version).toBe(2);
    expect(upcastAndValidate('SessionCompleted', 1, v1)).toEqual({ ok: true, data: { ...v1, source: 'local' } });
  });

  it('reads the current version unchanged, and a v1 shape claiming v2 is refused', () => {
    const v2 = { ...v1, source: 'peer' };
    expect(upcastAndValidate('SessionCompleted', 2, v2)).toEqual({ ok: true, data: v2 });
    expect(upcastAndValidate('SessionCompleted', 2, v1).ok).toBe(false);
  });

  it.each([0, 3, 1.5, '1', undefined])('refuses schemaVersion %s', (version) => {
    expect(upcastAndValidate('SessionCompleted', version, v1).ok).toBe(false);
  });
});

describe('helpers', () => {
  it('builds typed events, with an id when given', () => {
    expect(newEvent('UnitSaved', { session: 1, unit: '00' })).toEqual({ type: 'UnitSaved', data: { session: 1, unit: '00' } });
    expect(newEvent('UnitSaved', { session: 1, unit: '00' }, 'id-1')).toMatchObject({ id: 'id-1' });
  });

  it('names the streams of DESIGN.md', () => {
    expect([streams.federation, streams.session(3), streams.dag(3), streams.checkpoint('ledger')]).toEqual(['federation', 'session-3', 'dag-3', 'checkpoint-ledger']);
  });
});
