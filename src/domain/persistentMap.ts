/**
 * An immutable string-keyed map (a hash array mapped trie). `set` and `delete` return a new map
 * that shares all untouched branches with the old one, so an update costs O(log32 n) instead of
 * copying the whole map: the ledger keeps every accepted txid and every unspent note, and the
 * engine must process thousands of items per second, each returning a new state.
 *
 * Replay folds every accepted item of the log through these maps, so the implementation avoids
 * allocation it does not need: a map version is one small object whose methods live on a shared
 * prototype (not seven fresh closures per version), and an update copies only the branch arrays
 * on its path. A fold whose intermediate versions nobody sees can go further with
 * `withTransientEdits`: each path is copied once per fold instead of once per update.
 *
 * Iteration order depends on key hashes; anything that must be deterministic (JSON snapshots,
 * state hashes) uses `sortedEntries` / `sortedKeys`. Maps keyed by digests (`emptyPersistentMap('digest')`)
 * hash by the key's first hex digits and are walked in key order, so those sort for free.
 *
 * Keys sharing a whole 32-bit hash (clients grind txids onto one, a transaction's outputs share
 * their txid's) sit in a B+tree ordered by key (collisionPages.ts): no set of keys makes an update
 * cost more than O(log n) key comparisons, and the walk stays in key order there too.
 */
import { collectPage, collectPageKeys, findLeaf, leafPage, pageShape, walkPage, withLeaf, withoutLeaf, type Page } from './collisionPages.ts';
import { NO_EDIT, insertAt, removeAt, sizeChange, withInserted, withRemoved, type Edit, type Leaf } from './mapNodes.ts';
import { digestKeyHash, textKeyHash } from './mapKeys.ts';

// Made here before mapKeys.ts held them: the domain's index and other importers still find them here.
export { digestKeyHash, hexKey } from './mapKeys.ts';

// Branches and collisions carry the edit they were created under; only a node carrying the
// updating map's own edit, while it is open, may be changed in place.
interface Branch<V> {
  readonly kind: 1;
  bitmap: number;
  children: TrieNode<V>[];
  readonly edit: Edit;
}
/** Keys sharing one hash, in pages ordered by key (collisionPages.ts): a client can grind keys onto one hash. */
interface Collision<V> {
  readonly kind: 2;
  readonly hash: number;
  page: Page<V>;
  readonly edit: Edit;
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
  /** The keys in ascending order (code-unit order). */
  sortedKeys(): string[];
}

/** How a map hashes its keys: any text, or keys starting with a digest's hex (see digestKeyHash). */
export type MapKeys = 'text' | 'digest';

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
    if (node.kind === 2) return node.hash === hash ? findLeaf(node.page, key) : undefined;
    const bit = 1 << fragment(hash, shift);
    if ((node.bitmap & bit) === 0) return undefined;
    node = node.children[popcount(node.bitmap & (bit - 1))];
    shift += 5;
  }
  return undefined;
}

/** An open transient edit, as `withTransientEdits` hands it to its callback. */
export interface TransientEdit {
  /** `map` with the same entries under this edit: its updates (and those of the versions they make) change in place what this edit copied. */
  of<V>(map: PersistentMap<V>): PersistentMap<V>;
}

/**
 * Transient edits (Clojure's edit tokens): runs `fn` with an edit of its own. A map `edit.of` gave
 * copies a node the first time an update touches it, stamping the copy with the edit, and changes
 * nodes already carrying it in place: a fold of thousands of updates then copies each path once
 * instead of once per update. The maps `fn` starts from (and all earlier versions) stay intact, but
 * a version made under the edit may be changed by a later update under it: only the versions `fn`
 * returns (the last of each chain of updates) are valid afterwards, when the edit is closed and
 * every node immutable again. Use it only where the intermediate versions are never observed (a fold).
 *
 * Nested calls have edits of their own: maps the outer edit made are copied, not changed, by the
 * inner one, and what the inner one returns is immutable.
 */
export function withTransientEdits<T>(fn: (edit: TransientEdit) => T): T {
  const edit: Edit = { open: true };
  try {
    return fn({ of: (map) => (map instanceof TrieMap ? map.underEdit(edit) : map) });
  } finally {
    edit.open = false;
  }
}

function branch<V>(bitmap: number, children: TrieNode<V>[], edit: Edit): Branch<V> {
  return { kind: 1, bitmap, children, edit };
}

function collision<V>(hash: number, page: Page<V>, edit: Edit): Collision<V> {
  return { kind: 2, hash, page, edit };
}

/** Two nodes with different hashes under one branch, split at the first differing fragment. */
function join<V>(a: Leaf<V> | Collision<V>, b: Leaf<V>, shift: number, edit: Edit): TrieNode<V> {
  const fa = fragment(a.hash, shift);
  const fb = fragment(b.hash, shift);
  if (fa === fb) return branch(1 << fa, [join(a, b, shift + 5, edit)], edit);
  return branch((1 << fa) | (1 << fb), fa < fb ? [a, b] : [b, a], edit);
}

function insert<V>(node: TrieNode<V> | undefined, leaf: Leaf<V>, shift: number, edit: Edit): TrieNode<V> {
  if (node === undefined) {
    sizeChange.delta = 1;
    return leaf;
  }
  if (node.kind === 0) {
    if (node.key === leaf.key) return node.value === leaf.value ? node : leaf;
    sizeChange.delta = 1;
    // Leaves stay in key order (digest maps walk in order).
    if (node.hash === leaf.hash) return collision(leaf.hash, leafPage(node.key < leaf.key ? [node, leaf] : [leaf, node], edit), edit);
    return join(node, leaf, shift, edit);
  }
  const owned = edit.open && node.edit === edit;
  if (node.kind === 2) {
    if (node.hash !== leaf.hash) {
      sizeChange.delta = 1;
      return join(node, leaf, shift, edit);
    }
    const page = withLeaf(node.page, leaf, edit);
    if (page === node.page) return node;
    if (!owned) return collision(node.hash, page, edit);
    node.page = page;
    return node;
  }
  const bit = 1 << fragment(leaf.hash, shift);
  const index = popcount(node.bitmap & (bit - 1));
  if ((node.bitmap & bit) === 0) {
    sizeChange.delta = 1;
    if (owned) {
      insertAt(node.children, index, leaf);
      node.bitmap |= bit;
      return node;
    }
    return branch(node.bitmap | bit, withInserted(node.children, index, leaf), edit);
  }
  const child = node.children[index]!;
  const updated = insert(child, leaf, shift + 5, edit);
  if (updated === child) return node;
  return withChild(node, index, updated, owned, edit);
}

/** `node` with the child at `index` replaced: in place when `edit` owns it, else a copy. */
function withChild<V>(node: Branch<V>, index: number, child: TrieNode<V>, owned: boolean, edit: Edit): Branch<V> {
  if (owned) {
    node.children[index] = child;
    return node;
  }
  const children = node.children.slice();
  children[index] = child;
  return branch(node.bitmap, children, edit);
}

/** Returns the node without `key` (undefined when empty), or the same node if the key is absent. */
function remove<V>(node: TrieNode<V>, hash: number, key: string, shift: number, edit: Edit): TrieNode<V> | undefined {
  if (node.kind === 0) {
    if (node.key !== key) return node;
    sizeChange.delta = -1;
    return undefined;
  }
  const owned = edit.open && node.edit === edit;
  if (node.kind === 2) {
    if (node.hash !== hash) return node;
    const page = withoutLeaf(node.page, key, edit);
    if (page === node.page && sizeChange.delta === 0) return node;
    // One key left: a plain leaf again.
    if (page.kind === 3 && page.leaves.length === 1) return page.leaves[0]!;
    if (!owned) return collision(hash, page, edit);
    node.page = page;
    return node;
  }
  const bit = 1 << fragment(hash, shift);
  if ((node.bitmap & bit) === 0) return node;
  const index = popcount(node.bitmap & (bit - 1));
  const child = node.children[index]!;
  const updated = remove(child, hash, key, shift + 5, edit);
  if (updated === child) return node;
  if (updated === undefined) {
    if (node.children.length === 1) return undefined;
    // Collapse a branch left with one leaf so lookups stay short and equal maps stay equal-shaped.
    if (node.children.length === 2) {
      const other = node.children[1 - index]!;
      if (other.kind !== 1) return other;
    }
    if (owned) {
      removeAt(node.children, index);
      node.bitmap &= ~bit;
      return node;
    }
    return branch(node.bitmap & ~bit, withRemoved(node.children, index), edit);
  }
  if (node.children.length === 1 && updated.kind !== 1) return updated;
  return withChild(node, index, updated, owned, edit);
}

function* walk<V>(node: TrieNode<V> | undefined): Generator<[string, V]> {
  if (node === undefined) return;
  if (node.kind === 0) yield [node.key, node.value];
  else if (node.kind === 2) yield* walkPage(node.page);
  else for (const child of node.children) yield* walk(child);
}

/** Appends every entry under `node` to `out`: a plain recursion, cheaper than the generator for whole-map reads. */
function collect<V>(node: TrieNode<V> | undefined, out: [string, V][]): void {
  if (node === undefined) return;
  if (node.kind === 0) out.push([node.key, node.value]);
  else if (node.kind === 2) collectPage(node.page, out);
  else for (const child of node.children) collect(child, out);
}

function collectKeys<V>(node: TrieNode<V> | undefined, out: string[]): void {
  if (node === undefined) return;
  if (node.kind === 0) out.push(node.key);
  else if (node.kind === 2) collectPageKeys(node.page, out);
  else for (const child of node.children) collectKeys(child, out);
}

// A class only for its shared prototype: one object per map version, methods not re-created.
class TrieMap<V> implements PersistentMap<V> {
  constructor(
    private root: TrieNode<V> | undefined,
    public size: number,
    // The edit this version was made under: while it is open, updates change it in place.
    private readonly edit: Edit,
    private readonly digestKeys: boolean,
  ) {}

  private hash(key: string): number {
    return this.digestKeys ? digestKeyHash(key) : textKeyHash(key);
  }

  get(key: string): V | undefined {
    return lookup(this.root, this.hash(key), key)?.value;
  }

  has(key: string): boolean {
    return lookup(this.root, this.hash(key), key) !== undefined;
  }

  set(key: string, value: V): PersistentMap<V> {
    sizeChange.delta = 0;
    const next = insert(this.root, { kind: 0, hash: this.hash(key), key, value }, 0, this.edit);
    // The same root and no new key: nothing changed, or a value was replaced in place (then `this` is this edit's).
    if (next === this.root && sizeChange.delta === 0) return this;
    return this.updated(next, this.size + sizeChange.delta);
  }

  delete(key: string): PersistentMap<V> {
    if (this.root === undefined) return this;
    sizeChange.delta = 0;
    const next = remove(this.root, this.hash(key), key, 0, this.edit);
    return sizeChange.delta === 0 ? this : this.updated(next, this.size - 1);
  }

  private updated(root: TrieNode<V> | undefined, size: number): PersistentMap<V> {
    if (this.edit.open) {
      this.root = root;
      this.size = size;
      return this;
    }
    return new TrieMap(root, size, this.edit, this.digestKeys);
  }

  collisionShape(): CollisionShape {
    const shape = { collisions: 0, widestPage: 0, pageHeight: 0 };
    const visit = (node: TrieNode<V> | undefined): void => {
      if (node?.kind === 1) {
        for (const child of node.children) visit(child);
      } else if (node?.kind === 2) {
        const { widest, height } = pageShape(node.page);
        shape.collisions++;
        shape.widestPage = Math.max(shape.widestPage, widest);
        shape.pageHeight = Math.max(shape.pageHeight, height);
      }
    };
    visit(this.root);
    return shape;
  }

  /** This version under `edit` (withTransientEdits). */
  underEdit(edit: Edit): TrieMap<V> {
    return new TrieMap(this.root, this.size, edit, this.digestKeys);
  }

  entries(): IterableIterator<[string, V]> {
    return walk(this.root);
  }

  sortedEntries(): [string, V][] {
    const out: [string, V][] = [];
    collect(this.root, out);
    // A digest-keyed map is walked in key order already; any other is sorted here.
    for (let i = 1; i < out.length; i++) if (out[i - 1]![0] > out[i]![0]) return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return out;
  }

  sortedKeys(): string[] {
    const out: string[] = [];
    collectKeys(this.root, out);
    for (let i = 1; i < out.length; i++) if (out[i - 1]! > out[i]!) return out.sort();
    return out;
  }
}

const EMPTY = new TrieMap<never>(undefined, 0, NO_EDIT, false);
const EMPTY_DIGEST_KEYED = new TrieMap<never>(undefined, 0, NO_EDIT, true);

/** How the keys sharing a hash are laid out in a map: how many such groups, their widest page (scanned and copied whole) and their most pages on a path. */
export interface CollisionShape {
  collisions: number;
  widestPage: number;
  pageHeight: number;
}

/** For specs: however keys collide, no page grows past a constant width and paths stay logarithmic. */
export function collisionShape(map: PersistentMap<unknown>): CollisionShape {
  if (!(map instanceof TrieMap)) throw new TypeError('not a map made by persistentMap.ts');
  return map.collisionShape();
}

/** Whether `value` is a map made by this file (a field of a module state, for instance). */
export function isPersistentMap(value: unknown): value is PersistentMap<unknown> {
  return value instanceof TrieMap;
}

/**
 * `keys: 'digest'` for maps keyed by the hex of cryptographic digests (optionally followed by
 * more text, as in "txid:index"): cheaper hashing and an ordered walk (see digestKeyHash). Other
 * keys still work in such a map, only slower.
 */
export function emptyPersistentMap<V>(keys: MapKeys = 'text'): PersistentMap<V> {
  return (keys === 'digest' ? EMPTY_DIGEST_KEYED : EMPTY) as PersistentMap<V>;
}

export function persistentMapOf<V>(entries: Iterable<readonly [string, V]>, keys: MapKeys = 'text'): PersistentMap<V> {
  // The versions between the first and the last are never seen: build in place.
  return withTransientEdits((edit) => {
    let result = edit.of(emptyPersistentMap<V>(keys));
    for (const [key, value] of entries) result = result.set(key, value);
    return result;
  });
}
