/**
 * The entries of a persistent map whose keys share one 32-bit hash, as a B+tree in key order.
 *
 * Keys are chosen by clients: ~2^32 hashes buy a txid sharing a given first 8 hex digits (a
 * digest key's map hash), every output of one transaction shares its txid's, and FNV-1a collides
 * for short strings. In one flat array, scanned and copied on every update, N of them would cost
 * O(N^2). Pages of at most MAX entries, ordered by the keys themselves, keep an update at
 * O(log N) key comparisons whatever the keys are (no second hash to grind), and an in-order walk
 * yields the keys sorted: digest-keyed maps walk in key order.
 *
 * Pages are persistent like the trie: an update copies the pages on its path, except pages stamped
 * with the open edit it runs under (withTransientEdits), which it changes in place.
 */
import { insertAt, removeAt, sizeChange, withInserted, withRemoved, type Edit, type Leaf } from './mapNodes.ts';

/** Most entries a page holds: a persistent update copies one page per level. */
const MAX = 32;
/** Fewest entries a page other than the root holds: a smaller one is merged with or refilled from a neighbour. */
const MIN = 8;

export interface LeafPage<V> {
  readonly kind: 3;
  leaves: Leaf<V>[];
  readonly edit: Edit;
}
/** `lows[i]` is at most the smallest key under `children[i]` and above every key under `children[i - 1]`; `lows[0]` is not read. */
export interface InnerPage<V> {
  readonly kind: 4;
  children: Page<V>[];
  lows: string[];
  readonly edit: Edit;
}
export type Page<V> = LeafPage<V> | InnerPage<V>;

export function leafPage<V>(leaves: Leaf<V>[], edit: Edit): LeafPage<V> {
  return { kind: 3, leaves, edit };
}

function innerPage<V>(children: Page<V>[], lows: string[], edit: Edit): InnerPage<V> {
  return { kind: 4, children, lows, edit };
}

const pageWidth = (page: Page<unknown>): number => (page.kind === 3 ? page.leaves.length : page.children.length);

/** The child of `page` whose key range holds `key`. */
function childIndex(lows: readonly string[], key: string): number {
  let lo = 1;
  let hi = lows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lows[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The index of `key` among `leaves`, or -1 - (where it would go). */
function leafIndex<V>(leaves: readonly Leaf<V>[], key: string): number {
  let lo = 0;
  let hi = leaves.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = leaves[mid]!.key;
    if (at === key) return mid;
    if (at < key) lo = mid + 1;
    else hi = mid;
  }
  return -1 - lo;
}

export function findLeaf<V>(root: Page<V>, key: string): Leaf<V> | undefined {
  let page = root;
  while (page.kind === 4) page = page.children[childIndex(page.lows, key)]!;
  const index = leafIndex(page.leaves, key);
  return index < 0 ? undefined : page.leaves[index];
}

/** `root` with `leaf` added or its key's value replaced (the same root when nothing changed); sets sizeChange. */
export function withLeaf<V>(root: Page<V>, leaf: Leaf<V>, edit: Edit): Page<V> {
  const page = inserted(root, leaf, edit);
  if (pageWidth(page) <= MAX) return page;
  const [left, right, low] = halves(page, edit);
  return innerPage([left, right], ['', low], edit);
}

/** `root` without `key` (the same root when it is absent), an inner root of one child replaced by it; sets sizeChange. */
export function withoutLeaf<V>(root: Page<V>, key: string, edit: Edit): Page<V> {
  const page = removed(root, key, edit);
  return page.kind === 4 && page.children.length === 1 ? page.children[0]! : page;
}

function inserted<V>(page: Page<V>, leaf: Leaf<V>, edit: Edit): Page<V> {
  const owned = edit.open && page.edit === edit;
  if (page.kind === 3) {
    const index = leafIndex(page.leaves, leaf.key);
    if (index >= 0) {
      if (page.leaves[index]!.value === leaf.value) return page;
      const leaves = owned ? page.leaves : page.leaves.slice();
      leaves[index] = leaf;
      return owned ? page : leafPage(leaves, edit);
    }
    sizeChange.delta = 1;
    if (owned) {
      insertAt(page.leaves, -1 - index, leaf);
      return page;
    }
    return leafPage(withInserted(page.leaves, -1 - index, leaf), edit);
  }
  const index = childIndex(page.lows, leaf.key);
  const child = page.children[index]!;
  const updated = inserted(child, leaf, edit);
  // An overfull child (even one changed in place) is split here, where its neighbours are.
  if (pageWidth(updated) > MAX) {
    const [left, right, low] = halves(updated, edit);
    const target = owned ? page : innerPage(page.children.slice(), page.lows.slice(), edit);
    target.children[index] = left;
    insertAt(target.children, index + 1, right);
    insertAt(target.lows, index + 1, low);
    return target;
  }
  if (updated === child) return page;
  return withChild(page, index, updated, owned, edit);
}

function removed<V>(page: Page<V>, key: string, edit: Edit): Page<V> {
  const owned = edit.open && page.edit === edit;
  if (page.kind === 3) {
    const index = leafIndex(page.leaves, key);
    if (index < 0) return page;
    sizeChange.delta = -1;
    if (owned) {
      removeAt(page.leaves, index);
      return page;
    }
    return leafPage(withRemoved(page.leaves, index), edit);
  }
  const index = childIndex(page.lows, key);
  const child = page.children[index]!;
  const updated = removed(child, key, edit);
  if (pageWidth(updated) >= MIN) return updated === child ? page : withChild(page, index, updated, owned, edit);
  // An underfull child joins its neighbour: one page if both fit, else two even halves.
  const first = index > 0 ? index - 1 : index;
  const left = first === index ? updated : page.children[first]!;
  const right = first === index ? page.children[index + 1]! : updated;
  const joined = concat(left, right, page.lows[first + 1]!, edit);
  const target = owned ? page : innerPage(page.children.slice(), page.lows.slice(), edit);
  if (pageWidth(joined) <= MAX) {
    target.children[first] = joined;
    removeAt(target.children, first + 1);
    removeAt(target.lows, first + 1);
  } else {
    const [low, high, separator] = halves(joined, edit);
    target.children[first] = low;
    target.children[first + 1] = high;
    target.lows[first + 1] = separator;
  }
  return target;
}

function withChild<V>(page: InnerPage<V>, index: number, child: Page<V>, owned: boolean, edit: Edit): InnerPage<V> {
  if (owned) {
    page.children[index] = child;
    return page;
  }
  const children = page.children.slice();
  children[index] = child;
  // The copy is this edit's, which may later change its lows in place: not the old page's array.
  return innerPage(children, page.lows.slice(), edit);
}

/** `page` cut into two new pages of even widths, and the low bound of the second. */
function halves<V>(page: Page<V>, edit: Edit): [Page<V>, Page<V>, string] {
  const middle = pageWidth(page) >>> 1;
  if (page.kind === 3) {
    const high = page.leaves.slice(middle);
    return [leafPage(page.leaves.slice(0, middle), edit), leafPage(high, edit), high[0]!.key];
  }
  const lows = page.lows.slice(middle);
  return [innerPage(page.children.slice(0, middle), page.lows.slice(0, middle), edit), innerPage(page.children.slice(middle), lows, edit), lows[0]!];
}

/** Neighbouring pages of one height as one new page; `separator` is the parent's low bound of `right`. */
function concat<V>(left: Page<V>, right: Page<V>, separator: string, edit: Edit): Page<V> {
  if (left.kind === 3 && right.kind === 3) return leafPage([...left.leaves, ...right.leaves], edit);
  if (left.kind === 4 && right.kind === 4) return innerPage([...left.children, ...right.children], [...left.lows, separator, ...right.lows.slice(1)], edit);
  throw new UnevenPagesError();
}

/** Neighbouring pages always have the same height: anything else is a bug in this file. */
export class UnevenPagesError extends Error {
  constructor() {
    super('persistent map: neighbouring collision pages of different heights');
    this.name = 'UnevenPagesError';
  }
}

/** Appends every entry under `page` to `out`, in key order. */
export function collectPage<V>(page: Page<V>, out: [string, V][]): void {
  if (page.kind === 3) for (const leaf of page.leaves) out.push([leaf.key, leaf.value]);
  else for (const child of page.children) collectPage(child, out);
}

export function collectPageKeys<V>(page: Page<V>, out: string[]): void {
  if (page.kind === 3) for (const leaf of page.leaves) out.push(leaf.key);
  else for (const child of page.children) collectPageKeys(child, out);
}

export function* walkPage<V>(page: Page<V>): Generator<[string, V]> {
  if (page.kind === 3) for (const leaf of page.leaves) yield [leaf.key, leaf.value];
  else for (const child of page.children) yield* walkPage(child);
}

/** The widest page and the most pages on a path from `page` down (for specs of the structure). */
export function pageShape(page: Page<unknown>): { widest: number; height: number } {
  if (page.kind === 3) return { widest: page.leaves.length, height: 1 };
  let widest = page.children.length;
  let height = 0;
  for (const child of page.children) {
    const shape = pageShape(child);
    widest = Math.max(widest, shape.widest);
    height = Math.max(height, shape.height);
  }
  return { widest, height: height + 1 };
}
