import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode, encode, type Codec, type DecodeResult } from '../../src/domain/encoding.ts';
import { bytesToHex, hexToBytes, sha256, signedDigest } from '../../src/domain/hashing.ts';
import { federationKeysCodec, type FederationKeys } from '../../src/domain/federation.ts';
import {
  buildTransaction,
  decodeTransaction,
  encodeTransaction,
  transactionFromJson,
  transactionJsonSchema,
  transactionToJson,
  txid,
  txidOfEncoded,
  type Input,
  type Output,
  type Transaction,
} from '../../src/domain/transaction.ts';
import { consensusItemFromJson, consensusItemJsonSchema, consensusItemToJson, decodeConsensusItem, encodeConsensusItem, type ConsensusItem } from '../../src/domain/consensusItem.ts';
import {
  acceptedItemHash,
  acceptedItemHashOfEncoded,
  decodeAcceptedItem,
  decodeSignedSessionOutcome,
  encodeAcceptedItem,
  encodeSignedSessionOutcome,
  sessionHeader,
  signedSessionOutcomeFromJson,
  signedSessionOutcomeJsonSchema,
  signedSessionOutcomeToJson,
  verifySignedSessionOutcome,
  type SignedSessionOutcome,
} from '../../src/domain/sessionOutcome.ts';
import { claimDeposit, depositObserved, walletCodecs, withdraw, WALLET_INSTANCE } from '../../src/domain/modules/wallet.ts';
import type { ModuleCodecRegistry } from '../../src/domain/module.ts';
import { issueNote, mintCodecs, spendNote, MINT_INSTANCE } from '../../src/domain/modules/mint.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { encodingVectors } from './encodingVectors.ts';
import { defaultModuleCodecs } from '../../src/domain/modules/consensusModules.ts';

const SEED = 424242;
const { transaction: txVector, session: sessionVector } = encodingVectors;
const federation: FederationKeys = new Map(Object.entries(encodingVectors.federation.keys).map(([peer, key]) => [Number(peer), hexToBytes(key)]));

function unwrap<T>(result: DecodeResult<T>): T {
  if (!result.ok) throw new Error(`decode failed: ${result.error.kind} ${result.error.message}`);
  return result.value;
}

describe('the example transaction vector', () => {
  const recipientKey = hexToBytes(txVector.recipientSecretKey);
  const pk9 = nobleBackend.publicKey(recipientKey);

  it('is built, encoded and identified exactly as in the vector', () => {
    const { tx, txid: id } = buildTransaction({
      inputs: [claimDeposit(sha256(new TextEncoder().encode('deposit-1')))],
      outputs: [issueNote(60_000n, pk9), issueNote(40_000n, pk9)],
      nonce: hexToBytes('0102030405060708'),
      secretKeysPerInput: [recipientKey],
    });
    expect(bytesToHex(encodeTransaction(tx))).toBe(txVector.encoded);
    expect(bytesToHex(id)).toBe(txVector.txid);
    expect(bytesToHex(encodeConsensusItem({ kind: 'transaction', tx }))).toBe(txVector.consensusItem);
  });

  it('decodes, re-encodes and hashes to the listed txid', () => {
    const encoded = hexToBytes(txVector.encoded);
    const tx = unwrap(decodeTransaction(encoded, defaultModuleCodecs));
    expect(encodeTransaction(tx)).toEqual(encoded);
    expect(bytesToHex(txid(tx))).toBe(txVector.txid);
    expect(bytesToHex(txidOfEncoded(encoded, tx.signatures.length))).toBe(txVector.txid);
    expect(nobleBackend.verify(tx.signatures[0]!, txid(tx), pk9)).toBe(true);
    const item = unwrap(decodeConsensusItem(hexToBytes(txVector.consensusItem), defaultModuleCodecs));
    expect(item).toEqual({ kind: 'transaction', tx });
  });

  it('rejects the transaction with a module id nobody runs', () => {
    const encoded = hexToBytes(txVector.encoded);
    encoded[1] = 7; // the first input's module id
    const result = decodeTransaction(encoded, defaultModuleCodecs);
    expect(result.ok === false && result.error.kind).toBe('unknownModule');
  });

  it('decodes with the registry it is given: a module left out of it is unknown, whatever the default registry holds', () => {
    const encoded = hexToBytes(txVector.encoded);
    const walletOnly: ModuleCodecRegistry = new Map([[WALLET_INSTANCE, walletCodecs]]);
    const result = decodeTransaction(encoded, walletOnly);
    // The vector claims a deposit (wallet input) and issues a note (mint output): the mint is missing.
    expect(result.ok === false && result.error.kind).toBe('unknownModule');
    const item = decodeConsensusItem(hexToBytes(txVector.consensusItem), new Map([[MINT_INSTANCE, mintCodecs]]));
    expect(item.ok === false && item.error.kind).toBe('unknownModule');
  });

  it('rejects a module body with an unknown version', () => {
    const encoded = hexToBytes(txVector.encoded);
    encoded[3] = 1; // the first input body's version
    const result = decodeTransaction(encoded, defaultModuleCodecs);
    expect(result.ok === false && result.error.kind).toBe('unknownVariant');
  });

  it('round-trips through its JSON form', () => {
    const tx = unwrap(decodeTransaction(hexToBytes(txVector.encoded), defaultModuleCodecs));
    const json = transactionJsonSchema.parse(JSON.parse(JSON.stringify(transactionToJson(tx))));
    expect(unwrap(transactionFromJson(json, defaultModuleCodecs))).toEqual(tx);
    const item: ConsensusItem = { kind: 'transaction', tx };
    expect(unwrap(consensusItemFromJson(consensusItemJsonSchema.parse(consensusItemToJson(item)), defaultModuleCodecs))).toEqual(item);
    const bad = { ...json, inputs: [{ module: 9, body: '00' }] };
    expect(transactionFromJson(bad, defaultModuleCodecs).ok).toBe(false);
  });
});

describe('the session vectors', () => {
  it.each(encodingVectors.header)('header($session) from decoded items', ({ session, items, header }) => {
    const accepted = items.map(({ item, peer }) => ({ item: unwrap(decodeConsensusItem(hexToBytes(item), defaultModuleCodecs)), peer }));
    expect(bytesToHex(sessionHeader(session, { items: accepted }))).toBe(header);
  });

  const accepted = sessionVector.items.map(({ item, peer }) => ({ item: unwrap(decodeConsensusItem(hexToBytes(item), defaultModuleCodecs)), peer }));
  const signatures = new Map(Object.entries(sessionVector.signaturesAuxRandZero).map(([peer, sig]) => [Number(peer), hexToBytes(sig)]));

  it('encodes each accepted item as listed and hashes it the same way from its bytes', () => {
    sessionVector.items.forEach(({ item, peer, acceptedItem }, k) => {
      expect(bytesToHex(encodeAcceptedItem(accepted[k]!))).toBe(acceptedItem);
      expect(unwrap(decodeAcceptedItem(hexToBytes(acceptedItem), defaultModuleCodecs))).toEqual(accepted[k]);
      expect(acceptedItemHashOfEncoded(hexToBytes(item), peer)).toEqual(acceptedItemHash(accepted[k]!));
    });
  });

  it('computes the header and its signed digest', () => {
    const header = sessionHeader(sessionVector.session, { items: accepted });
    expect(bytesToHex(header)).toBe(sessionVector.header);
    expect(bytesToHex(signedDigest(hexToBytes(encodingVectors.federation.tag), header))).toBe(sessionVector.signedDigest);
  });

  it('accepts the listed signatures as a signed session outcome, and only for that session', () => {
    const signed: SignedSessionOutcome = { outcome: { items: accepted }, signatures };
    for (const [peer, signature] of signatures) expect(nobleBackend.verify(signature, hexToBytes(sessionVector.signedDigest), federation.get(peer)!)).toBe(true);
    expect(verifySignedSessionOutcome(federation, sessionVector.session, signed)).toBe(true);
    expect(verifySignedSessionOutcome(federation, sessionVector.session + 1, signed)).toBe(false);
    const fewer = { ...signed, signatures: new Map([...signatures].slice(1)) };
    expect(verifySignedSessionOutcome(federation, sessionVector.session, fewer)).toBe(false);
    const tampered = { ...signed, outcome: { items: accepted.slice(1) } };
    expect(verifySignedSessionOutcome(federation, sessionVector.session, tampered)).toBe(false);
  });

  it('round-trips a signed session outcome through bytes and JSON', () => {
    const signed: SignedSessionOutcome = { outcome: { items: accepted }, signatures };
    expect(unwrap(decodeSignedSessionOutcome(encodeSignedSessionOutcome(signed), defaultModuleCodecs))).toEqual(signed);
    const json = signedSessionOutcomeJsonSchema.parse(JSON.parse(JSON.stringify(signedSessionOutcomeToJson(signed))));
    expect(json.items[3]!.item).toBe(sessionVector.items[3]!.item);
    expect(unwrap(signedSessionOutcomeFromJson(json, defaultModuleCodecs))).toEqual(signed);
  });
});

// Arbitraries for well-formed items.
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const inputArb: fc.Arbitrary<Input> = fc.oneof(bytes32.map(claimDeposit), fc.tuple(bytes32, u64).map(([t, i]) => spendNote(t, i)));
const outputArb: fc.Arbitrary<Output> = fc.oneof(
  fc.tuple(fc.uint8Array({ maxLength: 40 }), u64).map(([d, a]) => withdraw(d, a)),
  fc.tuple(u64, bytes32).map(([a, o]) => issueNote(a, o)),
);
const txArb: fc.Arbitrary<Transaction> = fc.record({
  inputs: fc.array(inputArb, { maxLength: 4 }),
  outputs: fc.array(outputArb, { maxLength: 4 }),
  nonce: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  signatures: fc.array(fc.uint8Array({ minLength: 64, maxLength: 64 }), { maxLength: 4 }),
});
const itemArb: fc.Arbitrary<ConsensusItem> = fc.oneof(
  txArb.map((tx) => ({ kind: 'transaction' as const, tx })),
  fc.record({ depositId: bytes32, amount: u64, recipient: bytes32 }).map(depositObserved),
);
const signedArb: fc.Arbitrary<SignedSessionOutcome> = fc.record({
  outcome: fc.record({ items: fc.array(fc.record({ item: itemArb, peer: fc.integer({ min: 0, max: 0xffff }) }), { maxLength: 3 }) }),
  signatures: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.uint8Array({ minLength: 64, maxLength: 64 })), { selector: ([p]) => p, maxLength: 4 }).map((e) => new Map(e)),
});

describe('properties of the consensus types', () => {
  it('round-trips transactions, consensus items and signed session outcomes', () => {
    fc.assert(
      fc.property(signedArb, (signed) => {
        const encoded = encodeSignedSessionOutcome(signed);
        expect(unwrap(decodeSignedSessionOutcome(encoded, defaultModuleCodecs))).toEqual(signed);
        for (const { item } of signed.outcome.items) {
          expect(unwrap(decodeConsensusItem(encodeConsensusItem(item), defaultModuleCodecs))).toEqual(item);
          if (item.kind === 'transaction') expect(txidOfEncoded(encodeTransaction(item.tx), item.tx.signatures.length)).toEqual(txid(item.tx));
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('round-trips every module body', () => {
    const cases: [Codec<unknown>, fc.Arbitrary<unknown>][] = [
      [walletCodecs.item, fc.record({ depositId: bytes32, amount: u64, recipient: bytes32 })],
      [walletCodecs.input, fc.record({ depositId: bytes32 })],
      [walletCodecs.output, fc.record({ destination: fc.uint8Array({ maxLength: 50 }), amount: u64 })],
      [mintCodecs.input, fc.record({ txid: bytes32, index: u64 })],
      [mintCodecs.output, fc.record({ amount: u64, owner: bytes32 })],
      [federationKeysCodec as Codec<unknown>, fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 0xffff }), bytes32), { selector: ([p]) => p, maxLength: 5 }).map((e) => new Map(e))],
    ];
    for (const [codec, arb] of cases) {
      fc.assert(
        fc.property(arb, (value) => {
          expect(unwrap(decode(codec, encode(codec, value)))).toEqual(value);
        }),
        { seed: SEED, numRuns: 100 },
      );
    }
  });

  const decoders: [string, (bytes: Uint8Array) => DecodeResult<unknown>][] = [
    ['transaction', (b) => decodeTransaction(b, defaultModuleCodecs)],
    ['consensus item', (b) => decodeConsensusItem(b, defaultModuleCodecs)],
    ['accepted item', (b) => decodeAcceptedItem(b, defaultModuleCodecs)],
    ['signed session outcome', (b) => decodeSignedSessionOutcome(b, defaultModuleCodecs)],
    ['federation keys', (b) => decode(federationKeysCodec, b)],
    ['wallet item', (b) => decode(walletCodecs.item, b)],
    ['wallet input', (b) => decode(walletCodecs.input, b)],
    ['wallet output', (b) => decode(walletCodecs.output, b)],
    ['mint item', (b) => decode(mintCodecs.item, b)],
    ['mint input', (b) => decode(mintCodecs.input, b)],
    ['mint output', (b) => decode(mintCodecs.output, b)],
  ];

  function checkOutcome(decodeFn: (bytes: Uint8Array) => DecodeResult<unknown>, bytes: Uint8Array): void {
    const result = decodeFn(bytes); // must not throw
    expect(typeof result.ok).toBe('boolean');
    if (!result.ok) expect(typeof result.error.kind).toBe('string');
  }

  it('gives a value or a typed error for 10,000 random byte strings into every decoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 160 }), (bytes) => {
        for (const [, decodeFn] of decoders) checkOutcome(decodeFn, bytes);
      }),
      { seed: SEED, numRuns: 10_000 },
    );
  });

  it('gives a value or a typed error for 2,000 mutations of valid encodings', () => {
    const valid = hexToBytes(txVector.consensusItem);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(valid.length), (edits, cut) => {
        const mutated = Uint8Array.from(valid);
        for (const [at, value] of edits) mutated[at] = value;
        for (const bytes of [mutated, mutated.subarray(0, cut)]) {
          const result = decodeConsensusItem(bytes, defaultModuleCodecs);
          if (result.ok) expect(encodeConsensusItem(result.value)).toEqual(bytes);
          else expect(typeof result.error.kind).toBe('string');
        }
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });
});
