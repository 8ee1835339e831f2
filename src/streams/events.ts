import { z } from 'zod';
import type { EventToAppend, RecordedEvent } from './eventLog.ts';
import { certainlyValid } from './storedEventCheck.ts';

/**
 * The event catalogue (DESIGN.md, "The event log"): one zod schema per event type at its current
 * schema version, the upcasters that bring older stored versions up to date, and the stream names.
 * Consensus bytes travel as lowercase hex so that everything can be re-verified from the log alone.
 */

const hex = z.string().regex(/^(?:[0-9a-f]{2})*$/, 'expected lowercase hex of whole bytes');
const hexBytes = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes} bytes of lowercase hex`);
const hash = hexBytes(32);
const xOnlyKey = hexBytes(32);
const signature = hexBytes(64);
/** header(i) = u64 big-endian session index || merkle root. */
const sessionHeader = hexBytes(40);
const u16 = z.number().int().min(0).max(0xffff);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Amounts are u64 msat; JSON numbers cannot carry them exactly, so they are decimal strings. */
const msat = z.string().regex(/^(?:0|[1-9][0-9]*)$/, 'expected an unsigned decimal integer').refine((s) => BigInt(s) <= 0xffffffffffffffffn, 'exceeds u64');
const signedDecimal = z.string().regex(/^(?:0|-?[1-9][0-9]*)$/, 'expected a signed decimal integer');
const peerId = u16;
/** JSON object keys are strings: a peer id in decimal. */
const peerKey = z.string().regex(/^(?:0|[1-9][0-9]{0,4})$/, 'expected a peer id').refine((s) => Number(s) <= 0xffff, 'exceeds u16');

const peer = z.strictObject({
  id: peerId,
  pubkey: xOnlyKey,
  apiUrl: z.string().min(1),
  p2pUrl: z.string().min(1).optional(),
  /** sha256 of the peer's TLS certificate DER (n >= 4). Optional and added later: older events simply lack it. */
  certFingerprint: hash.optional(),
});

export const federationConfigured = z.strictObject({
  peers: z.array(peer).min(1),
  threshold: z.number().int().min(1),
  sessionSeconds: z.number().positive(),
  roundDelayMs: z.number().int().min(0),
  roundsPerSession: z.number().int().min(1),
  modules: z.strictObject({
    wallet: z.strictObject({ withdrawFeeMsat: msat }),
    mint: z.strictObject({}),
  }),
  checkpointRetention: z.number().int().min(0),
  /** FederationKeys: peer id -> BIP-340 x-only public key. */
  keys: z.record(peerKey, xOnlyKey),
  consensusHash: hash,
});

export const unitOrdered = z.strictObject({
  session: count,
  creator: peerId,
  round: count,
  hash,
  data: hex,
});

export const itemAccepted = z.strictObject({
  session: count,
  index: count,
  peer: peerId,
  item: hex,
  itemHash: hash,
  txid: hash.optional(),
  /** The audit's net assets after this item, msat, signed. */
  netAssets: signedDecimal,
});

export const itemRejected = z.strictObject({
  session: count,
  peer: peerId,
  itemHash: hash,
  txid: hash.optional(),
  reason: z.string(),
});

export const signatureRecorded = z.strictObject({
  session: count,
  peer: peerId,
  signature,
  valid: z.boolean(),
});

export const sessionCompleted = z.strictObject({
  session: count,
  header: sessionHeader,
  itemCount: count,
  signatures: z.record(peerKey, signature),
  /** 'local' when this guardian collected the threshold itself, 'peer' when a peer's signed outcome completed it. */
  source: z.enum(['local', 'peer']),
});

export const unitSaved = z.strictObject({
  session: count,
  unit: hex,
});

export const snapshotTaken = z.strictObject({
  projection: z.string().min(1),
  version: z.number().int().min(0),
  /** The global log position the state reflects (a bigint, so a decimal string). */
  position: z.string().regex(/^(?:0|[1-9][0-9]*)$/, 'expected an unsigned decimal integer'),
  session: count,
  state: z.json(),
  stateHash: hash,
});

/** Each type's current schema and version. Bump `version` and add an upcaster whenever a shape changes. */
export const eventSchemas = {
  FederationConfigured: { version: 1, schema: federationConfigured },
  UnitOrdered: { version: 1, schema: unitOrdered },
  ItemAccepted: { version: 1, schema: itemAccepted },
  ItemRejected: { version: 1, schema: itemRejected },
  SignatureRecorded: { version: 1, schema: signatureRecorded },
  SessionCompleted: { version: 2, schema: sessionCompleted },
  UnitSaved: { version: 1, schema: unitSaved },
  SnapshotTaken: { version: 1, schema: snapshotTaken },
} as const;

export type FedlogEventType = keyof typeof eventSchemas;
export type FedlogEventData<T extends FedlogEventType> = z.output<(typeof eventSchemas)[T]['schema']>;

export type FederationConfigured = FedlogEventData<'FederationConfigured'>;
export type UnitOrdered = FedlogEventData<'UnitOrdered'>;
export type ItemAccepted = FedlogEventData<'ItemAccepted'>;
export type ItemRejected = FedlogEventData<'ItemRejected'>;
export type SignatureRecorded = FedlogEventData<'SignatureRecorded'>;
export type SessionCompleted = FedlogEventData<'SessionCompleted'>;
export type UnitSaved = FedlogEventData<'UnitSaved'>;
export type SnapshotTaken = FedlogEventData<'SnapshotTaken'>;

/** `{ type, data }` for every event type: narrow on `type` to get the typed payload. */
export type FedlogEvent = { [T in FedlogEventType]: { type: T; data: FedlogEventData<T> } }[FedlogEventType];
/** A recorded event after schema checking and upcasting (what `withEventSchemas` reads). */
export type RecordedFedlogEvent = Omit<RecordedEvent, 'type' | 'data'> & FedlogEvent;

export function isFedlogEventType(type: string): type is FedlogEventType {
  return Object.hasOwn(eventSchemas, type);
}

/** Narrows a recorded event read through `withEventSchemas` to one type. */
export function isEvent<T extends FedlogEventType>(event: RecordedEvent, type: T): event is RecordedEvent & { type: T; data: FedlogEventData<T> } {
  return event.type === type;
}

/** Builds an event to append, typed by its `type`; pass `id` to make a retried append idempotent. */
export function newEvent<T extends FedlogEventType>(type: T, data: FedlogEventData<T>, id?: string): EventToAppend {
  return id === undefined ? { type, data } : { id, type, data };
}

/**
 * Upcasters: `upcasters[type][v]` turns the data of schema version `v` into version `v + 1`.
 * Readers apply them in sequence, so stored events are never rewritten.
 */
type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;
const upcasters: Partial<Record<FedlogEventType, Record<number, Upcaster>>> = {
  SessionCompleted: {
    // v1 predates peer-completed sessions: every v1 session was completed by collecting signatures locally.
    1: (data) => ({ ...data, source: 'local' }),
  },
};

export type UpcastResult = { ok: true; data: unknown } | { ok: false; reason: string };

/** Brings `data` stored at `version` up to the current version of `type`, then validates it. */
export function upcastAndValidate(type: string, version: unknown, data: unknown): UpcastResult {
  if (!isFedlogEventType(type)) return { ok: false, reason: `unknown event type ${JSON.stringify(type)}` };
  const current = eventSchemas[type].version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1 || version > current) {
    return { ok: false, reason: `${type}: unsupported schemaVersion ${JSON.stringify(version)} (current is ${current})` };
  }
  let upgraded = data;
  for (let v = version; v < current; v++) {
    const step = upcasters[type]?.[v];
    if (step === undefined) return { ok: false, reason: `${type}: no upcaster from schemaVersion ${v}` };
    if (typeof upgraded !== 'object' || upgraded === null || Array.isArray(upgraded)) return { ok: false, reason: `${type}: data is not an object` };
    upgraded = step(upgraded as Record<string, unknown>);
  }
  // Stored events are read far more often than written (every replay reads them all): the
  // compiled check answers for valid data, zod for everything else (and for its error message).
  if (certainlyValid(type, upgraded)) return { ok: true, data: upgraded };
  return validate(type, upgraded);
}

/** Validates `data` against the current schema of `type`. */
export function validate(type: string, data: unknown): UpcastResult {
  if (!isFedlogEventType(type)) return { ok: false, reason: `unknown event type ${JSON.stringify(type)}` };
  const parsed = eventSchemas[type].schema.safeParse(data);
  return parsed.success ? { ok: true, data: parsed.data } : { ok: false, reason: z.prettifyError(parsed.error).replace(/\n/g, '; ') };
}

/** Stream names (DESIGN.md): one `federation` stream, then per session and per projection. */
export const streams = {
  federation: 'federation',
  session: (session: number) => `session-${session}`,
  dag: (session: number) => `dag-${session}`,
  checkpoint: (projection: string) => `checkpoint-${projection}`,
} as const;
