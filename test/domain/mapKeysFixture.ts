/** Keys sharing a map hash, for the specs of the maps that hold them; seeded, so a failure replays. */

function randomHex(random: () => number, digits: number): string {
  let hex = '';
  for (let i = 0; i < digits; i++) hex += '0123456789abcdef'[Math.floor(random() * 16)];
  return hex;
}

/** `count` distinct 64-digit keys starting with `prefix`. */
export function keysWithPrefix(count: number, prefix: string, random: () => number): string[] {
  const keys = new Set<string>();
  while (keys.size < count) keys.add(prefix + randomHex(random, 64 - prefix.length));
  return [...keys];
}

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * 2^levels distinct strings of 6 * levels characters with one FNV-1a hash (Joux's multicollision):
 * FNV-1a is a chain of states, so a pair of blocks colliding from the state after the previous
 * blocks extends every string found so far. Each pair is a birthday search over ~2^16 blocks.
 */
export function fnvMulticollision(levels: number, random: () => number): string[] {
  const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const step = (state: number, block: string) => {
    for (let i = 0; i < block.length; i++) state = Math.imul(state ^ block.charCodeAt(i), 0x01000193) >>> 0;
    return state;
  };
  let strings = [''];
  let state = 0x811c9dc5;
  for (let level = 0; level < levels; level++) {
    const seen = new Map<number, string>();
    for (;;) {
      // Random blocks: FNV-1a of blocks that differ only in their first characters rarely collides.
      let block = '';
      for (let i = 0; i < 6; i++) block += ALPHABET[Math.floor(random() * ALPHABET.length)];
      const next = step(state, block);
      const other = seen.get(next);
      if (other !== undefined && other !== block) {
        strings = strings.flatMap((s) => [s + block, s + other]);
        state = next;
        break;
      }
      seen.set(next, block);
    }
  }
  return strings;
}
