/**
 * The mint module (instance 1): bearer notes. An IssueNote output creates a note named by its
 * OutPoint; a SpendNote input consumes it. A spent note is deleted, and it can never reappear
 * because its OutPoint contains the txid of a transaction the ledger will not accept twice.
 */
import { z } from 'zod';
import { bytes32, encode as encodeBody, readVariant, struct, u64, versioned, type Codec, type Reader } from '../encoding.ts';
import { bytesToHex, hexToBytes } from '../hashing.ts';
import { hexKey } from '../mapKeys.ts';
import { emptyPersistentMap, persistentMapOf, type PersistentMap } from '../persistentMap.ts';
import { reject, type JsonValue, type Module, type OutPoint } from '../module.ts';
import type { Input, Output } from '../transaction.ts';
import { isXOnlyPublicKey, notAPublicKey } from './publicKeyRule.ts';

export const MINT_INSTANCE = 1;

export interface SpendNote {
  txid: Uint8Array;
  index: bigint;
}
export interface IssueNote {
  amount: bigint;
  owner: Uint8Array;
}

/** The mint has no consensus items: every item body is an unknown variant. */
const noItems: Codec<never> = {
  encode() {
    throw new RangeError('the mint has no consensus items');
  },
  decode(reader) {
    const { variant, variantOffset } = readVariant(reader);
    return reader.fail('unknownVariant', `the mint has no consensus item variant ${variant}`, variantOffset);
  },
};

const spendNoteCodec = versioned(struct({ txid: bytes32, index: u64 })) as Codec<SpendNote>;
const issueNoteCodec = versioned(struct({ amount: u64, owner: bytes32 })) as Codec<IssueNote>;

/**
 * `versioned(struct(...))` decoded field by field: the same reads in the same order as the generic
 * combinators (so the same values and the same errors, tested), without their per-call objects.
 * Every transaction's inputs and outputs are mint bodies, decoded again by every replay.
 */
function versionedBody<T>(generic: Codec<T>, fields: (body: Reader) => T): Codec<T> {
  return {
    encode: generic.encode,
    decode(reader) {
      const variantOffset = reader.offset;
      const variant = reader.bigSizeNumber();
      const body = reader.sub(reader.lengthPrefix());
      if (variant !== 0) return reader.fail('unknownVariant', `unknown version ${variant}`, variantOffset);
      const value = fields(body);
      body.expectEnd();
      return value;
    },
  };
}

/** `bytes32.decode`: a copy of the next 32 bytes (the same 'truncated' error), without the intermediate view. */
function copy32(body: Reader): Uint8Array {
  const start = body.offset;
  body.sub(32);
  return body.bytes.slice(start, start + 32);
}

export const mintCodecs = {
  item: noItems,
  input: versionedBody(spendNoteCodec, (body) => {
    const txid = copy32(body);
    return { txid, index: u64.decode(body) };
  }),
  output: versionedBody(issueNoteCodec, (body) => {
    const amount = u64.decode(body);
    return { amount, owner: copy32(body) };
  }),
};

/** The generic codecs the fast ones must agree with (tests). */
export const genericMintCodecs = { input: spendNoteCodec, output: issueNoteCodec };

export interface Note {
  amount: bigint;
  owner: Uint8Array;
}

export interface MintState {
  /** "txidHex:index" -> unspent note. */
  readonly notes: PersistentMap<Note>;
  /** Sum of unspent notes, kept incrementally so the audit is O(1) per item. */
  readonly outstandingMsat: bigint;
}

export const noteKey = (txid: Uint8Array, index: bigint | number) => hexKey(txid, `:${index}`);

const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/);
const mintJsonSchema = z.object({
  notes: z.record(z.string().regex(/^[0-9a-f]{64}:(0|[1-9][0-9]*)$/), z.object({ amount: decimal, owner: z.string().regex(/^[0-9a-f]{64}$/) })),
  outstandingMsat: decimal,
});

export function mintModule(): Module<MintState, never, SpendNote, IssueNote> {
  return {
    instance: MINT_INSTANCE,
    name: 'mint',
    codecs: mintCodecs,
    initialState: { notes: emptyPersistentMap('digest'), outstandingMsat: 0n },
    processConsensusItem: () => reject('the mint has no consensus items'),
    processInput(state, input) {
      const key = noteKey(input.txid, input.index);
      const note = state.notes.get(key);
      if (note === undefined) return reject('note unknown or already spent');
      return {
        ok: true,
        state: { notes: state.notes.delete(key), outstandingMsat: state.outstandingMsat - note.amount },
        amount: note.amount,
        publicKey: note.owner,
      };
    },
    processOutput(state, output, outPoint: OutPoint) {
      // A zero note would be state that can carry no value: reject it as an item that changes nothing.
      if (output.amount === 0n) return reject('note amount must be positive');
      if (!isXOnlyPublicKey(output.owner)) return reject(notAPublicKey('owner', output.owner));
      const key = noteKey(outPoint.txid, outPoint.index);
      if (state.notes.has(key)) return reject('note already issued');
      // `output` was decoded for this call and decoding copies bytes (encoding.ts), so the note may keep its owner.
      const note: Note = { amount: output.amount, owner: output.owner };
      return { ok: true, state: { notes: state.notes.set(key, note), outstandingMsat: state.outstandingMsat + output.amount }, amount: output.amount, fee: 0n };
    },
    describe: {
      item: () => null,
      input: (input) => ({ type: 'SpendNote', txid: bytesToHex(input.txid), index: input.index.toString() }),
      output: (output) => ({ type: 'IssueNote', amount: output.amount.toString(), owner: bytesToHex(output.owner) }),
    },
    audit: (state) => [{ name: 'outstanding notes', msat: -state.outstandingMsat }],
    proposals: () => [],
    toJson(state): JsonValue {
      const notes: Record<string, JsonValue> = {};
      for (const [key, note] of state.notes.sortedEntries()) notes[key] = { amount: note.amount.toString(), owner: bytesToHex(note.owner) };
      return { notes, outstandingMsat: state.outstandingMsat.toString() };
    },
    fromJson(json) {
      const parsed = mintJsonSchema.parse(json);
      return {
        notes: persistentMapOf(Object.entries(parsed.notes).map(([key, n]) => [key, { amount: BigInt(n.amount), owner: hexToBytes(n.owner) }] as const), 'digest'),
        outstandingMsat: BigInt(parsed.outstandingMsat),
      };
    },
  };
}

// Builders for clients, tests and the load generator.

export function issueNote(amount: bigint, owner: Uint8Array): Output {
  return { module: MINT_INSTANCE, body: encodeBody(mintCodecs.output, { amount, owner }) };
}

export function spendNote(txid: Uint8Array, index: bigint | number): Input {
  return { module: MINT_INSTANCE, body: encodeBody(mintCodecs.input, { txid, index: BigInt(index) }) };
}
