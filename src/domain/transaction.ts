/**
 * Transactions: inputs and outputs owned by modules, a nonce, and one signature per input.
 * txid = sha256(enc(inputs) || enc(outputs) || nonce): the signatures are not part of it, since
 * each one signs the txid.
 */
import { z } from 'zod';
import { bytes64, bytes8, decode, encode, vec, Writer, type Codec, type DecodeResult, type Reader } from './encoding.ts';
import { bytesToHex, hexToBytes, sha256 } from './hashing.ts';
import { NO_MODULE_CODECS, perRegistry, type ModuleCodecRegistry, type ModuleCodecs } from './module.ts';
import type { SchnorrBackend } from './signatureBackend.ts';
import { nobleBackend } from './signatures/noble.ts';

/** Largest accepted encoded transaction (DESIGN.md). */
export const MAX_TRANSACTION_BYTES = 50_000;

/** A module-owned part of a transaction; `body` is the module's own encoding. */
export interface Input {
  module: number;
  body: Uint8Array;
}
export type Output = Input;

export interface Transaction {
  inputs: readonly Input[];
  outputs: readonly Output[];
  nonce: Uint8Array;
  signatures: readonly Uint8Array[];
}

/**
 * { module: u16, body: bytes } whose body must decode canonically with that module's codec. We rely
 * on decoding rejecting unknown module ids so that no peer can make the ledger look up a module
 * that is not there.
 */
export function moduleBodyCodec(registry: ModuleCodecRegistry, part: keyof ModuleCodecs<unknown, unknown, unknown>): Codec<Input> {
  return {
    encode(writer, value) {
      writer.bigSizeNumber(value.module);
      writer.bigSizeNumber(value.body.length);
      writer.raw(value.body);
    },
    decode(reader: Reader) {
      const start = reader.offset;
      const module = reader.bigSizeNumber(0xffff);
      const codecs = registry.get(module);
      if (codecs === undefined) return reader.fail('unknownModule', `unknown module instance ${module}`, start);
      const length = reader.lengthPrefix();
      const bodyStart = reader.offset;
      const body = reader.sub(length);
      // Checked here so that a malformed body fails the transaction's decoding; the ledger decodes it again.
      codecs[part].decode(body);
      body.expectEnd();
      return { module, body: reader.bytes.slice(bodyStart, bodyStart + length) };
    },
  };
}

/** A module body decoded by its module's codec (the transaction's decoding checked it too: a body is a few dozen bytes). */
export function decodeModuleBody<T>(codec: Codec<T>, body: Uint8Array): DecodeResult<T> {
  return decode(codec, body);
}

/** The transaction codec over `registry`'s modules (one per registry). */
export const transactionCodec = perRegistry((registry): Codec<Transaction> => {
  const inputs = vec(moduleBodyCodec(registry, 'input'));
  const outputs = vec(moduleBodyCodec(registry, 'output'));
  const signatures = vec(bytes64);
  return {
    encode(writer, tx) {
      inputs.encode(writer, tx.inputs);
      outputs.encode(writer, tx.outputs);
      bytes8.encode(writer, tx.nonce);
      signatures.encode(writer, tx.signatures);
    },
    decode: (reader) => ({ inputs: inputs.decode(reader), outputs: outputs.decode(reader), nonce: bytes8.decode(reader), signatures: signatures.decode(reader) }),
  };
});

const transactionEncoder = transactionCodec(NO_MODULE_CODECS);

export function encodeTransaction(tx: Transaction): Uint8Array {
  return encode(transactionEncoder, tx);
}

/** Canonical transactions whose every body decodes with `registry`'s module (others are 'unknownModule'). */
export function decodeTransaction(bytes: Uint8Array, registry: ModuleCodecRegistry): DecodeResult<Transaction> {
  return decode(transactionCodec(registry), bytes);
}

/** sha256(enc(inputs) || enc(outputs) || nonce). */
export function txid(tx: Pick<Transaction, 'inputs' | 'outputs' | 'nonce'>): Uint8Array {
  const writer = new Writer();
  transactionEncoder.encode(writer, { ...tx, signatures: [] });
  const encoded = writer.finish();
  // enc(signatures) of an empty Vec is the single byte 0x00 at the end.
  return sha256(encoded.subarray(0, encoded.length - 1));
}

/**
 * The txid from a transaction's full encoding: the txid preimage is the encoding minus the
 * trailing signatures Vec, so the ledger encodes once and hashes a prefix.
 */
export function txidOfEncoded(encoded: Uint8Array, signatureCount: number, hash: (data: Uint8Array) => Uint8Array = sha256): Uint8Array {
  const prefixLength = signatureCount < 0xfd ? 1 : signatureCount <= 0xffff ? 3 : 5;
  return hash(encoded.subarray(0, encoded.length - prefixLength - 64 * signatureCount));
}

export interface BuildTransactionOptions {
  inputs: readonly Input[];
  outputs: readonly Output[];
  /** One secret key per input, in input order: the key that input's module will demand. */
  secretKeysPerInput: readonly Uint8Array[];
  nonce: Uint8Array;
  backend?: SchnorrBackend;
}

/** Builds and signs a transaction: each input's signature is BIP-340 over the txid (aux_rand zero). */
export function buildTransaction({ inputs, outputs, secretKeysPerInput, nonce, backend = nobleBackend }: BuildTransactionOptions): { tx: Transaction; txid: Uint8Array } {
  if (secretKeysPerInput.length !== inputs.length) throw new RangeError('buildTransaction needs exactly one secret key per input');
  const id = txid({ inputs, outputs, nonce });
  const signatures = secretKeysPerInput.map((secretKey) => backend.sign(id, secretKey));
  return { tx: { inputs, outputs, nonce, signatures }, txid: id };
}

// JSON forms: bytes as lowercase hex.

export const hexSchema = z.string().regex(/^(?:[0-9a-f]{2})*$/, 'lowercase hex');
export const hash32HexSchema = z.string().regex(/^[0-9a-f]{64}$/, '32 bytes as lowercase hex');
export const u64DecimalSchema = z.string().regex(/^(0|[1-9][0-9]*)$/, 'u64 as a decimal string').refine((s) => BigInt(s) < 2n ** 64n, 'exceeds u64');

export const moduleBodyJsonSchema = z.object({ module: z.number().int().min(0).max(0xffff), body: hexSchema });
export const transactionJsonSchema = z.object({
  inputs: z.array(moduleBodyJsonSchema),
  outputs: z.array(moduleBodyJsonSchema),
  nonce: z.string().regex(/^[0-9a-f]{16}$/),
  signatures: z.array(z.string().regex(/^[0-9a-f]{128}$/)),
});
export type TransactionJson = z.infer<typeof transactionJsonSchema>;

const bodyToJson = (part: Input) => ({ module: part.module, body: bytesToHex(part.body) });
const bodyFromJson = (part: { module: number; body: string }): Input => ({ module: part.module, body: hexToBytes(part.body) });

export function transactionToJson(tx: Transaction): TransactionJson {
  return { inputs: tx.inputs.map(bodyToJson), outputs: tx.outputs.map(bodyToJson), nonce: bytesToHex(tx.nonce), signatures: tx.signatures.map(bytesToHex) };
}

/** Validated like bytes from the wire: module ids and bodies must be canonical. */
export function transactionFromJson(json: TransactionJson, registry: ModuleCodecRegistry): DecodeResult<Transaction> {
  const raw: Transaction = { inputs: json.inputs.map(bodyFromJson), outputs: json.outputs.map(bodyFromJson), nonce: hexToBytes(json.nonce), signatures: json.signatures.map(hexToBytes) };
  return decodeTransaction(encodeTransaction(raw), registry);
}
