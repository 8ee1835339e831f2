import { describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  DeadlineExceededError,
  ErrorType,
  MaxAppendSizeExceededError,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  convertToCommandError,
} from '@eventstore/db-client';
import { CorruptEventError, ExpectedRevisionConflict, InvalidEventError } from '../../src/streams/errors.ts';
import {
  fromEsdbCurrentRevision,
  isOwnEvent,
  isTransientError,
  toEsdbExpectedRevision,
  toEsdbReadPosition,
  toEventData,
  toEventMetadata,
  toLogError,
  toLogPosition,
  toRecordedEvent,
} from '../../src/streams/eventStoreDb.ts';

/** A gRPC error as the server sends it for a failed append: what the client turns into its error classes. */
function serverError(trailers: Record<string, string>): Error {
  return Object.assign(new Error('9 FAILED_PRECONDITION: Append failed'), {
    code: 9,
    details: 'Append failed',
    metadata: { getMap: () => trailers },
  });
}

const esdbEvent = (over: Record<string, unknown> = {}) =>
  ({
    streamId: 'session-0',
    id: '0b4f3c9e-8d7a-4c1b-9f2e-5a6b7c8d9e0f',
    revision: 4n,
    type: 'ItemAccepted',
    data: { index: 4 },
    metadata: { schemaVersion: 1, guardian: 2, recordedAt: '2024-01-01T00:00:00.000Z' },
    isJson: true,
    created: new Date(0),
    position: { commit: 4096n, prepare: 4096n },
    ...over,
  }) as unknown as Parameters<typeof toRecordedEvent>[0];

describe('EventStoreDB mapping: expected revisions', () => {
  it('maps each expected revision to the client constant or bigint', () => {
    expect(toEsdbExpectedRevision('any')).toBe('any');
    expect(toEsdbExpectedRevision('noStream')).toBe('no_stream');
    expect(toEsdbExpectedRevision('streamExists')).toBe('stream_exists');
    expect(toEsdbExpectedRevision(0)).toBe(0n);
    expect(toEsdbExpectedRevision(41)).toBe(41n);
  });

  it('refuses a revision that is not a non-negative integer', () => {
    expect(() => toEsdbExpectedRevision(-1)).toThrow(RangeError);
    expect(() => toEsdbExpectedRevision(1.5)).toThrow(RangeError);
  });

  it("maps the client's current revision back: no_stream to 'noStream', bigint to number", () => {
    expect(fromEsdbCurrentRevision('no_stream')).toBe('noStream');
    expect(fromEsdbCurrentRevision(7n)).toBe(7);
    expect(() => fromEsdbCurrentRevision(2n ** 60n)).toThrow(RangeError);
  });
});

describe('EventStoreDB mapping: errors', () => {
  it('turns WrongExpectedVersionError (built as the append call builds it) into ExpectedRevisionConflict', () => {
    const esdb = new WrongExpectedVersionError(undefined, { streamName: 'session-1', expected: 3n, current: 5n });
    const mapped = toLogError(esdb, 'session-1', 3);
    expect(mapped).toBeInstanceOf(ExpectedRevisionConflict);
    expect(mapped).toMatchObject({ stream: 'session-1', expected: 3, actual: 5 });
  });

  it("maps actualVersion 'no_stream' from the server's error trailers to actual 'noStream'", () => {
    const esdb = convertToCommandError(
      serverError({ exception: ErrorType.WRONG_EXPECTED_VERSION, 'stream-name': 'federation', 'expected-version': '0' }),
    );
    expect(esdb).toBeInstanceOf(WrongExpectedVersionError);
    expect((esdb as WrongExpectedVersionError).actualVersion).toBe('no_stream');
    const mapped = toLogError(esdb, 'federation', 'streamExists');
    expect(mapped).toBeInstanceOf(ExpectedRevisionConflict);
    expect(mapped).toMatchObject({ stream: 'federation', expected: 'streamExists', actual: 'noStream' });
  });

  it('maps an oversize append to InvalidEventError naming the event type', () => {
    const mapped = toLogError(MaxAppendSizeExceededError.fromMaxAppendSize(1_048_576), 'dag-0', 'any', [{ type: 'UnitSaved', data: {} }]);
    expect(mapped).toBeInstanceOf(InvalidEventError);
    expect((mapped as InvalidEventError).reason).toContain('1048576');
  });

  it('recognises the client\'s StreamNotFoundError, which the read path turns into an empty stream', () => {
    // Guards the one instanceof the read path relies on against a client upgrade renaming it.
    const notFound = new StreamNotFoundError(undefined, 'session-9');
    expect(notFound.type).toBe(ErrorType.STREAM_NOT_FOUND);
    expect(notFound.streamName).toBe('session-9');
  });

  it('treats a lost node, a lost leader and a timeout as transient, anything else as final', () => {
    expect(isTransientError(new UnavailableError(undefined, 'gone'))).toBe(true);
    expect(isTransientError(new DeadlineExceededError(undefined, 'slow'))).toBe(true);
    expect(isTransientError(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }))).toBe(true);
    expect(isTransientError(new AccessDeniedError(undefined, 'no'))).toBe(false);
    expect(isTransientError(new WrongExpectedVersionError(undefined, { streamName: 's', expected: 'any', current: 1n }))).toBe(false);
    expect(isTransientError(new Error('boom'))).toBe(false);
  });

  it('passes errors without a counterpart through unchanged', () => {
    const unavailable = convertToCommandError(Object.assign(new Error('14 UNAVAILABLE'), { code: 14, details: 'no connection' }));
    expect(unavailable).toBeInstanceOf(UnavailableError);
    expect(toLogError(unavailable, 's', 'any')).toBe(unavailable);
  });
});

describe('EventStoreDB mapping: positions', () => {
  it('uses the commit position as the log position', () => {
    expect(toLogPosition({ commit: 123_456n, prepare: 123_456n })).toBe(123_456n);
  });

  it('reports a transaction position (commit != prepare) as corrupt instead of merging events', () => {
    expect(() => toLogPosition({ commit: 900n, prepare: 800n })).toThrow(CorruptEventError);
  });

  it('reads from the start for position 0 and from {p, p} otherwise', () => {
    expect(toEsdbReadPosition(0n)).toBe('start');
    expect(toEsdbReadPosition(4096n)).toEqual({ commit: 4096n, prepare: 4096n });
    expect(() => toEsdbReadPosition(-1n)).toThrow(RangeError);
  });

  it('round-trips a position through the read position', () => {
    for (const p of [1n, 1_024n, 2n ** 40n + 17n]) {
      const read = toEsdbReadPosition(p);
      expect(read !== 'start' && read !== 'end' && toLogPosition(read)).toBe(p);
    }
  });
});

describe('EventStoreDB mapping: events', () => {
  it('treats $-prefixed types and streams as system events, and other tenants as foreign', () => {
    expect(isOwnEvent({ streamId: 'session-0', type: 'ItemAccepted' })).toBe(true);
    expect(isOwnEvent({ streamId: '$stats-127.0.0.1:2113', type: 'statsCollected' })).toBe(false);
    expect(isOwnEvent({ streamId: 'session-0', type: '$metadata' })).toBe(false);
    expect(isOwnEvent({ streamId: 'g1/session-0', type: 'ItemAccepted' }, 'g1/')).toBe(true);
    expect(isOwnEvent({ streamId: 'g2/session-0', type: 'ItemAccepted' }, 'g1/')).toBe(false);
  });

  it('keeps our event id as the ESDB id and generates one when absent', () => {
    const id = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
    expect(toEventData('federation', { id, type: 'FederationConfigured', data: { n: 4 } }).id).toBe(id);
    const generated = toEventData('federation', { type: 'FederationConfigured', data: {} }).id;
    expect(generated).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('stores data and metadata as given, as JSON', () => {
    const data = toEventData('s', { type: 'T', data: ['x', 1], metadata: { guardian: 3 } });
    expect(data).toMatchObject({ contentType: 'application/json', type: 'T', data: ['x', 1], metadata: { guardian: 3 } });
  });

  it('refuses names ESDB reserves and data JSON cannot carry', () => {
    expect(() => toEventData('s', { type: '$custom', data: {} })).toThrow(InvalidEventError);
    expect(() => toEventData('$s', { type: 'T', data: {} })).toThrow(InvalidEventError);
    expect(() => toEventData('$s', { type: 'T', data: {} }, 'g1/')).not.toThrow();
    expect(() => toEventData('s', { type: 'T', data: undefined })).toThrow(TypeError);
    expect(() => toEventData('s', { type: 'T', data: { amount: 1n } })).toThrow(TypeError);
  });

  it('maps a recorded ESDB event to the port, stripping the stream prefix', () => {
    const event = toRecordedEvent(esdbEvent({ streamId: 'g1/session-0' }), 'g1/');
    expect(event).toEqual({
      id: '0b4f3c9e-8d7a-4c1b-9f2e-5a6b7c8d9e0f',
      stream: 'session-0',
      revision: 4,
      position: 4096n,
      type: 'ItemAccepted',
      data: { index: 4 },
      metadata: { schemaVersion: 1, guardian: 2, recordedAt: '2024-01-01T00:00:00.000Z' },
    });
  });

  it('falls back to the resolved commit position when the record carries none', () => {
    expect(toRecordedEvent(esdbEvent({ position: undefined }), '', 8192n).position).toBe(8192n);
    expect(() => toRecordedEvent(esdbEvent({ position: undefined }))).toThrow(CorruptEventError);
  });

  it('reports binary events and non-object metadata as corrupt, never skips them', () => {
    expect(() => toRecordedEvent(esdbEvent({ isJson: false, data: new Uint8Array([1]) }))).toThrow(CorruptEventError);
    expect(() => toEventMetadata(new Uint8Array([0x7b]), 1n)).toThrow(CorruptEventError);
    expect(() => toEventMetadata([1, 2], 1n)).toThrow(CorruptEventError);
    expect(toEventMetadata(undefined, 1n)).toEqual({});
  });
});
