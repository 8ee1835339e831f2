/**
 * An immutable map keyed by txids (64 lowercase hex digits) that keeps its keys in order: a
 * persistent trie with one level per hex digit. The transactions projection hashes its rejections
 * at every checkpoint and at the end of replay in key order; with a hash-ordered map
 * (src/domain/persistentMap.ts) that meant sorting them each time. Here an in-order walk is
 * already sorted (the digits 0-9 come before a-f in code-unit order too).
 *
 * Replay folds pages of events at once: `transient()` gives a mutable view whose updates change in
 * place the trie nodes it created itself (and copy the others once), so a page of inserts copies
 * each upper node once instead of once per insert; `persistent()` ends it and returns the map.
 * (The domain's map has no such mode, and path copying was most of the transactions fold.)
 */
import { MutableMap } from './mutableMap.ts';

export const KEY_LENGTH = 64;

interface Leaf<V> {
  readonly kind: 0;
  readonly key: string;
  readonly value: V;
}
/** 16 slots, one per hex digit; `owner` is the transient that created it (may change it in place), if any. */
interface Branch<V> {
  readonly kind: 1;
  readonly owner: Owner | undefined;
  readonly children: (TrieNode<V> | undefined)[];
}
type TrieNode<V> = Leaf<V> | Branch<V>;
/** Identity only: the transient an owned node belongs to. */
interface Owner {
  open: boolean;
}

export interface SortedHexMap<V> {
  readonly size: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V): SortedHexMap<V>;
  delete(key: string): SortedHexMap<V>;
  /** Calls `visit` for each entry in ascending key order. */
  forEachSorted(visit: (key: string, value: V) => void): void;
  /** Entries in ascending key order. */
  sortedEntries(): [string, V][];
  transient(): TransientHexMap<V>;
}

/** A mutable copy of a SortedHexMap for a batch of updates; the map it came from is untouched. */
export interface TransientHexMap<V> {
  readonly size: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V): void;
  delete(key: string): void;
  /** Ends the batch (later updates throw) and returns the map as it now is. */
  persistent(): SortedHexMap<V>;
}

const DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) DIGITS['0123456789abcdef'.charCodeAt(i)] = i;

/** Keys are checked digit by digit as the trie reads them, and for length, so no key is a prefix of another. */
function digit(key: string, depth: number): number {
  const d = DIGITS[key.charCodeAt(depth)];
  if (d === undefined || d < 0) throw new TypeError(`not a lowercase hex key: ${JSON.stringify(key)}`);
  return d;
}

function checkLength(key: string): void {
  if (key.length !== KEY_LENGTH) throw new TypeError(`a key must have ${KEY_LENGTH} hex digits: ${JSON.stringify(key)}`);
}

function lookup<V>(node: TrieNode<V> | undefined, key: string): Leaf<V> | undefined {
  let depth = 0;
  while (node !== undefined) {
    if (node.kind === 0) return node.key === key ? node : undefined;
    if (depth >= key.length) return undefined;
    const d = DIGITS[key.charCodeAt(depth)];
    if (d === undefined || d < 0) return undefined;
    node = node.children[d];
    depth++;
  }
  return undefined;
}

/** Two leaves with different keys under one slot, at `depth`: branches down to their first differing digit. */
function join<V>(a: Leaf<V>, b: Leaf<V>, depth: number, owner: Owner | undefined): Branch<V> {
  const children = new Array<TrieNode<V> | undefined>(16).fill(undefined);
  const da = digit(a.key, depth);
  const db = digit(b.key, depth);
  if (da === db) children[da] = join(a, b, depth + 1, owner);
  else {
    children[da] = a;
    children[db] = b;
  }
  return { kind: 1, owner, children };
}

/** Set by `insert` when it added a key rather than replacing one. */
let added = false;

function insert<V>(node: TrieNode<V> | undefined, leaf: Leaf<V>, depth: number, owner: Owner | undefined): TrieNode<V> {
  if (node === undefined) {
    added = true;
    return leaf;
  }
  if (node.kind === 0) {
    if (node.key === leaf.key) return node.value === leaf.value ? node : leaf;
    added = true;
    return join(node, leaf, depth, owner);
  }
  const d = digit(leaf.key, depth);
  const child = node.children[d];
  const updated = insert(child, leaf, depth + 1, owner);
  if (updated === child) return node;
  return withChild(node, d, updated, owner);
}

/** `node` with child `d` replaced: in place when this edit owns the node, else a copy owned by it. */
function withChild<V>(node: Branch<V>, d: number, child: TrieNode<V> | undefined, owner: Owner | undefined): Branch<V> {
  if (owner !== undefined && node.owner === owner) {
    node.children[d] = child;
    return node;
  }
  const children = node.children.slice();
  children[d] = child;
  return { kind: 1, owner, children };
}

/** Set by `remove` when it found the key (an owned node changed in place is returned as itself). */
let removed = false;

/** The node without `key` (undefined when empty), or the same node when the key is absent. */
function remove<V>(node: TrieNode<V> | undefined, key: string, depth: number, owner: Owner | undefined): TrieNode<V> | undefined {
  if (node === undefined) return undefined;
  if (node.kind === 0) {
    if (node.key !== key) return node;
    removed = true;
    return undefined;
  }
  const d = DIGITS[key.charCodeAt(depth)];
  if (d === undefined || d < 0) return node;
  const child = node.children[d];
  const updated = remove(child, key, depth + 1, owner);
  if (updated === child) return node;
  // A branch left with a single leaf gives way to it, so that equal key sets have equal tries.
  if (updated === undefined || updated.kind === 0) {
    let other: TrieNode<V> | undefined;
    let others = 0;
    for (let i = 0; i < 16; i++) {
      const c = node.children[i];
      if (i !== d && c !== undefined) {
        other = c;
        others++;
      }
    }
    if (others === 0) return updated;
    if (others === 1 && updated === undefined && other!.kind === 0) return other;
  }
  return withChild(node, d, updated, owner);
}

function walk<V>(node: TrieNode<V> | undefined, visit: (key: string, value: V) => void): void {
  if (node === undefined) return;
  if (node.kind === 0) {
    visit(node.key, node.value);
    return;
  }
  const children = node.children;
  for (let i = 0; i < 16; i++) {
    const child = children[i];
    if (child !== undefined) walk(child, visit);
  }
}

// A class only for its shared prototype: one small object per map version.
class HexTrieMap<V> implements SortedHexMap<V> {
  constructor(
    private readonly root: TrieNode<V> | undefined,
    readonly size: number,
  ) {}

  get(key: string): V | undefined {
    return lookup(this.root, key)?.value;
  }

  has(key: string): boolean {
    return lookup(this.root, key) !== undefined;
  }

  set(key: string, value: V): SortedHexMap<V> {
    checkLength(key);
    added = false;
    const root = insert(this.root, { kind: 0, key, value }, 0, undefined);
    return root === this.root ? this : new HexTrieMap(root, added ? this.size + 1 : this.size);
  }

  delete(key: string): SortedHexMap<V> {
    const root = remove(this.root, key, 0, undefined);
    return root === this.root ? this : new HexTrieMap(root, this.size - 1);
  }

  forEachSorted(visit: (key: string, value: V) => void): void {
    walk(this.root, visit);
  }

  sortedEntries(): [string, V][] {
    const out: [string, V][] = [];
    walk(this.root, (key, value) => out.push([key, value]));
    return out;
  }

  transient(): TransientHexMap<V> {
    return new TransientTrie(this.root, this.size);
  }
}

class TransientTrie<V> implements TransientHexMap<V> {
  private readonly owner: Owner = { open: true };
  constructor(
    private root: TrieNode<V> | undefined,
    public size: number,
  ) {}

  get(key: string): V | undefined {
    return lookup(this.root, key)?.value;
  }

  has(key: string): boolean {
    return lookup(this.root, key) !== undefined;
  }

  set(key: string, value: V): void {
    this.check();
    checkLength(key);
    added = false;
    this.root = insert(this.root, { kind: 0, key, value }, 0, this.owner);
    if (added) this.size++;
  }

  delete(key: string): void {
    this.check();
    removed = false;
    this.root = remove(this.root, key, 0, this.owner);
    if (removed) this.size--;
  }

  persistent(): SortedHexMap<V> {
    this.check();
    this.owner.open = false;
    return new HexTrieMap(this.root, this.size);
  }

  private check(): void {
    if (!this.owner.open) throw new Error('transient map used after persistent()');
  }
}

const EMPTY = new HexTrieMap<never>(undefined, 0);

export function emptySortedHexMap<V>(): SortedHexMap<V> {
  return EMPTY as SortedHexMap<V>;
}

export function sortedHexMapOf<V>(entries: Iterable<readonly [string, V]>): SortedHexMap<V> {
  const map = emptySortedHexMap<V>().transient();
  for (const [key, value] of entries) map.set(key, value);
  return map.persistent();
}

/** A key the trie would take: KEY_LENGTH lowercase hex digits (a table lookup per digit, cheaper than a regex). */
function isKey(key: string): boolean {
  if (key.length !== KEY_LENGTH) return false;
  for (let i = 0; i < KEY_LENGTH; i++) {
    const code = key.charCodeAt(i);
    if (code > 127 || DIGITS[code]! < 0) return false;
  }
  return true;
}

/**
 * A SortedHexMap changed in place, and its own transient: `set` and `delete` change this map and
 * return it, `transient()` and `persistent()` return it too. For a fold that reads only its newest
 * state (replay's `transactions`, see its newestOnly): every state of
 * such a fold shares the map. A MutableMap (a hash table keyed by the txid's first digits) instead
 * of a trie; sorted walks sort the keys. Keys are checked as the trie checks them.
 */
class InPlaceHexMap<V> implements SortedHexMap<V>, TransientHexMap<V> {
  private readonly map = new MutableMap<V>();

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, value: V): this {
    if (!isKey(key)) throw new TypeError(`not a key of ${KEY_LENGTH} lowercase hex digits: ${JSON.stringify(key)}`);
    this.map.set(key, value);
    return this;
  }

  delete(key: string): this {
    this.map.delete(key);
    return this;
  }

  forEachSorted(visit: (key: string, value: V) => void): void {
    for (const [key, value] of this.map.sortedEntries()) visit(key, value);
  }

  sortedEntries(): [string, V][] {
    return this.map.sortedEntries();
  }

  transient(): this {
    return this;
  }

  persistent(): this {
    return this;
  }
}

/** A new, empty InPlaceHexMap: each in-place fold needs its own. */
export function inPlaceSortedHexMap<V>(): SortedHexMap<V> {
  return new InPlaceHexMap<V>();
}
