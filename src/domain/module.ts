/**
 * The one interface between the ledger and a module (as Fedimint's ServerModule). The ledger knows
 * nothing about deposits or notes: it decodes a body with the module's codec and hands it over. A
 * new module implements this interface and is added to the registry; the engine does not change.
 *
 * Every function is pure: it returns a new module state or a rejection, and never mutates `state`.
 * A module state is a plain object whose maps are PersistentMap fields, read and updated only
 * through that interface; an updated map is returned in the new state, never kept or reused from
 * an older one (a fold that reads only its newest state, replay's ledger, may hand a module maps
 * that change in place).
 */
import type { Codec } from './encoding.ts';
import type { PeerId } from './federation.ts';

export interface ModuleCodecs<Item, In, Out> {
  item: Codec<Item>;
  input: Codec<In>;
  output: Codec<Out>;
}

/** Identifies a transaction output: the transaction's txid and the output's index in it. */
export interface OutPoint {
  txid: Uint8Array;
  index: number;
}

/** What a module may know about the federation while processing. */
export interface ModuleContext {
  peerCount: number;
  threshold: number;
}

export type Rejection = { ok: false; reason: string };
export type Processed<S, R = unknown> = ({ ok: true; state: S } & R) | Rejection;

export interface InputEffect {
  /** Value the input brings into the transaction, in msat. */
  amount: bigint;
  /** The x-only key whose signature over the txid the transaction must carry for this input. */
  publicKey: Uint8Array;
}

export interface OutputEffect {
  amount: bigint;
  fee: bigint;
}

/** One named, signed line of the balance sheet (assets positive, liabilities negative). */
export interface AuditItem {
  name: string;
  msat: bigint;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Module<S, Item, In, Out> {
  readonly instance: number;
  readonly name: string;
  readonly codecs: ModuleCodecs<Item, In, Out>;
  readonly initialState: S;
  /** Rejects items that would change nothing (duplicates, already confirmed...). */
  processConsensusItem(state: S, item: Item, peer: PeerId, context: ModuleContext): Processed<S>;
  processInput(state: S, input: In, context: ModuleContext): Processed<S, InputEffect>;
  processOutput(state: S, output: Out, outPoint: OutPoint, context: ModuleContext): Processed<S, OutputEffect>;
  audit(state: S): readonly AuditItem[];
  /** Of the items this guardian observed locally, those worth proposing (that would change state). */
  proposals(state: S, self: PeerId, observed: readonly Item[], context: ModuleContext): Item[];
  /** Readable JSON of decoded bodies for analysts (bytes as hex, u64 as decimal strings). */
  readonly describe: { item(item: Item): JsonValue; input(input: In): JsonValue; output(output: Out): JsonValue };
  /** Deterministic JSON for snapshots: the same state always gives the same JSON. */
  toJson(state: S): JsonValue;
  /** Throws on malformed JSON; the ledger turns that into a typed result. */
  fromJson(json: unknown): S;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = Module<any, any, any, any>;

/** Instance id -> module. */
export type ModuleRegistry = ReadonlyMap<number, AnyModule>;

/** Instance id -> codecs: all that decoding needs (module ids outside it are 'unknownModule'). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ModuleCodecRegistry = ReadonlyMap<number, ModuleCodecs<any, any, any>>;

export function codecRegistry(modules: ModuleRegistry): ModuleCodecRegistry {
  return new Map([...modules].map(([id, module]) => [id, module.codecs]));
}

/**
 * Encoding never looks a module up (bodies arrive already in their module's encoding), so the
 * encoders are built over no modules at all; only decoding needs the registry a caller passes.
 */
export const NO_MODULE_CODECS: ModuleCodecRegistry = new Map();

/** `build(registry)`, built once per registry: codecs are stateless, and callers pass the same registry every time. */
export function perRegistry<T>(build: (registry: ModuleCodecRegistry) => T): (registry: ModuleCodecRegistry) => T {
  const built = new WeakMap<ModuleCodecRegistry, T>();
  return (registry) => {
    // Only a caller outside the type checker can get here without one; say which argument is missing.
    if (registry === undefined) throw new TypeError('a module codec registry is required (e.g. defaultModuleCodecs from modules/consensusModules.ts)');
    let value = built.get(registry);
    if (value === undefined) built.set(registry, (value = build(registry)));
    return value;
  };
}

export function reject(reason: string): Rejection {
  return { ok: false, reason };
}
