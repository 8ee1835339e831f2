/**
 * What the persistent map's trie (persistentMap.ts) and its collision pages (collisionPages.ts)
 * share: the leaf holding an entry, the edit token of transient edits, the size change of the last
 * update, and array edits that copy or change in place.
 */

export interface Leaf<V> {
  readonly kind: 0;
  readonly hash: number;
  readonly key: string;
  readonly value: V;
}

/** An edit token (see withTransientEdits): nodes stamped with an open edit may be changed in place by updates under it. */
export interface Edit {
  open: boolean;
}

/** The edit of every map made outside withTransientEdits: never open, so every update copies its path. */
export const NO_EDIT: Edit = { open: false };

/**
 * +1 after an insert added a key, -1 after a remove removed one, else 0: saves an allocation per call.
 * Under transient edits the root may be changed in place, so an unchanged root does not mean no change.
 * Not a cache: `set` and `delete` reset it and read it around one synchronous insert or remove.
 */
export const sizeChange = { delta: 0 };

// Array edits without splice, which allocates the array of removed elements on every call.

export function insertAt<T>(array: T[], index: number, value: T): void {
  array.push(value);
  for (let i = array.length - 1; i > index; i--) array[i] = array[i - 1]!;
  array[index] = value;
}

export function removeAt<T>(array: T[], index: number): void {
  for (let i = index; i < array.length - 1; i++) array[i] = array[i + 1]!;
  array.pop();
}

export function withInserted<T>(array: readonly T[], index: number, value: T): T[] {
  const out = new Array<T>(array.length + 1);
  for (let i = 0; i < index; i++) out[i] = array[i]!;
  out[index] = value;
  for (let i = index; i < array.length; i++) out[i + 1] = array[i]!;
  return out;
}

export function withRemoved<T>(array: readonly T[], index: number): T[] {
  const out = new Array<T>(array.length - 1);
  for (let i = 0; i < index; i++) out[i] = array[i]!;
  for (let i = index + 1; i < array.length; i++) out[i - 1] = array[i]!;
  return out;
}
