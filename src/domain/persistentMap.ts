/**
 * An immutable string-keyed map (a hash array mapped trie). `set` and `delete` return a new map
 * that shares all untouched branches with the old one, so an update costs O(log32 n) instead of
 * copying the whole map: the ledger keeps every accepted txid and every unspent note, and the
 * engine must process thousands of items per second, each returning a new state.
 *
 * Replay folds every accepted item of the log through these maps, so the implementation avoids
 * allocation it does not need: a map version is one small object whose methods live on a shared
 * prototype (not seven fresh closures per version), and an update copies only the branch arrays
 * on its path.
 *
 * Iteration order depends on key hashes; anything that must be deterministic (JSON snapshots,
 * state hashes) sorts keys first (`sortedEntries`).
 */

interface Leaf<V> {
  readonly kind: 0;
  readonly hash: number;
  readonly key: string;
  readonly value: V;
}
interface Branch<V> {
  readonly kind: 1;
  readonly bitmap: number;
  readonly children: readonly TrieNode<V>[];
}
interface Collision<V> {
  readonly kind: 2;
  readonly hash: number;
  readonly leaves: readonly Leaf<V>[];
}
type TrieNode<V> = Leaf<V> | Branch<V> | Collision<V>;

export interface PersistentMap<V> {
  readonly size: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V): PersistentMap<V>;
  delete(key: string): PersistentMap<V>;
  entries(): IterableIterator<[string, V]>;
  /** Entries in ascending key order (code-unit order), for deterministic output. */
  sortedEntries(): [string, V][];
}

// The ledger asks about one key several times in a row (has, then set; get, then delete): the
// last key's hash is remembered. Same string object or same content, same hash.
let lastKey: string | undefined;
let lastHash = 0;

// FNV-1a over UTF-16 code units: spreads hex keys well. Collisions only cost a linear scan.
function hashKey(key: string): number {
  if (key === lastKey) return lastHash;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  lastKey = key;
  lastHash = hash >>> 0;
  return lastHash;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

const fragment = (hash: number, shift: number) => (hash >>> shift) & 31;

function lookup<V>(node: TrieNode<V> | undefined, hash: number, key: string): Leaf<V> | undefined {
  let shift = 0;
  while (node !== undefined) {
    if (node.kind === 0) return node.key === key ? node : undefined;
    if (node.kind === 2) {
      if (node.hash !== hash) return undefined;
      for (const leaf of node.leaves) if (leaf.key === key) return leaf;
      return undefined;
    }
    const bit = 1 << fragment(hash, shift);
    if ((node.bitmap & bit) === 0) return undefined;
    node = node.children[popcount(node.bitmap & (bit - 1))];
    shift += 5;
  }
  return undefined;
}

/** Two nodes with different hashes under one branch, split at the first differing fragment. */
function join<V>(a: Leaf<V> | Collision<V>, b: Leaf<V>, shift: number): TrieNode<V> {
  const fa = fragment(a.hash, shift);
  const fb = fragment(b.hash, shift);
  if (fa === fb) return { kind: 1, bitmap: 1 << fa, children: [join(a, b, shift + 5)] };
  return { kind: 1, bitmap: (1 << fa) | (1 << fb), children: fa < fb ? [a, b] : [b, a] };
}

/** Set by `insert` when it added a key (rather than replacing one): saves an allocation per call. */
let insertAdded = false;

function insert<V>(node: TrieNode<V> | undefined, leaf: Leaf<V>, shift: number): TrieNode<V> {
  if (node === undefined) {
    insertAdded = true;
    return leaf;
  }
  if (node.kind === 0) {
    if (node.key === leaf.key) return node.value === leaf.value ? node : leaf;
    insertAdded = true;
    if (node.hash === leaf.hash) return { kind: 2, hash: leaf.hash, leaves: [node, leaf] };
    return join(node, leaf, shift);
  }
  if (node.kind === 2) {
    if (node.hash !== leaf.hash) {
      insertAdded = true;
      return join(node, leaf, shift);
    }
    const index = node.leaves.findIndex((existing) => existing.key === leaf.key);
    if (index < 0) {
      insertAdded = true;
      return { kind: 2, hash: node.hash, leaves: [...node.leaves, leaf] };
    }
    if (node.leaves[index]!.value === leaf.value) return node;
    const leaves = node.leaves.slice();
    leaves[index] = leaf;
    return { kind: 2, hash: node.hash, leaves };
  }
  const bit = 1 << fragment(leaf.hash, shift);
  const index = popcount(node.bitmap & (bit - 1));
  if ((node.bitmap & bit) === 0) {
    insertAdded = true;
    const children = node.children.slice();
    children.splice(index, 0, leaf);
    return { kind: 1, bitmap: node.bitmap | bit, children };
  }
  const child = node.children[index]!;
  const updated = insert(child, leaf, shift + 5);
  if (updated === child) return node;
  const children = node.children.slice();
  children[index] = updated;
  return { kind: 1, bitmap: node.bitmap, children };
}

/** Returns the node without `key` (undefined when empty), or the same node if the key is absent. */
function remove<V>(node: TrieNode<V>, hash: number, key: string, shift: number): TrieNode<V> | undefined {
  if (node.kind === 0) return node.key === key ? undefined : node;
  if (node.kind === 2) {
    if (node.hash !== hash) return node;
    const leaves = node.leaves.filter((leaf) => leaf.key !== key);
    if (leaves.length === node.leaves.length) return node;
    return leaves.length === 1 ? leaves[0]! : { kind: 2, hash, leaves };
  }
  const bit = 1 << fragment(hash, shift);
  if ((node.bitmap & bit) === 0) return node;
  const index = popcount(node.bitmap & (bit - 1));
  const child = node.children[index]!;
  const updated = remove(child, hash, key, shift + 5);
  if (updated === child) return node;
  if (updated === undefined) {
    if (node.children.length === 1) return undefined;
    const children = node.children.slice();
    children.splice(index, 1);
    // Collapse a branch left with one leaf so lookups stay short and equal maps stay equal-shaped.
    if (children.length === 1 && children[0]!.kind !== 1) return children[0];
    return { kind: 1, bitmap: node.bitmap & ~bit, children };
  }
  if (node.children.length === 1 && updated.kind !== 1) return updated;
  const children = node.children.slice();
  children[index] = updated;
  return { kind: 1, bitmap: node.bitmap, children };
}

function* walk<V>(node: TrieNode<V> | undefined): Generator<[string, V]> {
  if (node === undefined) return;
  if (node.kind === 0) yield [node.key, node.value];
  else if (node.kind === 2) for (const leaf of node.leaves) yield [leaf.key, leaf.value];
  else for (const child of node.children) yield* walk(child);
}

/** Appends every entry under `node` to `out`: a plain recursion, cheaper than the generator for whole-map reads. */
function collect<V>(node: TrieNode<V> | undefined, out: [string, V][]): void {
  if (node === undefined) return;
  if (node.kind === 0) out.push([node.key, node.value]);
  else if (node.kind === 2) for (const leaf of node.leaves) out.push([leaf.key, leaf.value]);
  else for (const child of node.children) collect(child, out);
}

// A class only for its shared prototype: one object per map version, methods not re-created.
class TrieMap<V> implements PersistentMap<V> {
  constructor(
    private readonly root: TrieNode<V> | undefined,
    readonly size: number,
  ) {}

  get(key: string): V | undefined {
    return lookup(this.root, hashKey(key), key)?.value;
  }

  has(key: string): boolean {
    return lookup(this.root, hashKey(key), key) !== undefined;
  }

  set(key: string, value: V): PersistentMap<V> {
    insertAdded = false;
    const next = insert(this.root, { kind: 0, hash: hashKey(key), key, value }, 0);
    return next === this.root ? this : new TrieMap(next, insertAdded ? this.size + 1 : this.size);
  }

  delete(key: string): PersistentMap<V> {
    if (this.root === undefined) return this;
    const next = remove(this.root, hashKey(key), key, 0);
    return next === this.root ? this : new TrieMap(next, this.size - 1);
  }

  entries(): IterableIterator<[string, V]> {
    return walk(this.root);
  }

  sortedEntries(): [string, V][] {
    const out: [string, V][] = [];
    collect(this.root, out);
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

const EMPTY = new TrieMap<never>(undefined, 0);

export function emptyPersistentMap<V>(): PersistentMap<V> {
  return EMPTY as PersistentMap<V>;
}

export function persistentMapOf<V>(entries: Iterable<readonly [string, V]>): PersistentMap<V> {
  let result = emptyPersistentMap<V>();
  for (const [key, value] of entries) result = result.set(key, value);
  return result;
}
