/**
 * Hand-compiled checks of the event schemas of events.ts, for the read path only. Replay reads
 * every event of the log through the schema decorator, and the zod schemas (regexes, refinements,
 * `z.json()` walking a whole snapshot state through a union) cost more per event than reading it.
 *
 * A check here only ever says "certainly valid": `true` means the zod schema accepts `data` and
 * would return an equal value. Anything else (including unusual but valid data) answers `false`,
 * and the caller asks zod, which decides and words the error. Tests hold the two to agreement.
 */

type Data = Record<string, unknown>;

const isCount = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isU16 = (value: unknown): boolean => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff;
const isSignedDecimal = (value: unknown): boolean => typeof value === 'string' && /^(?:0|-?[1-9][0-9]*)$/.test(value);
const isUnsignedDecimal = (value: unknown): boolean => typeof value === 'string' && /^(?:0|[1-9][0-9]*)$/.test(value);

/** 1 for the UTF-16 code units of lowercase hex digits ('0'-'9', 'a'-'f'), 0 for every other code unit. */
const HEX_DIGIT = new Uint8Array(0x10000);
for (const digit of '0123456789abcdef') HEX_DIGIT[digit.charCodeAt(0)] = 1;

/** From this length on (a 32-byte hash already gains), hex is checked as UTF-8 bytes four at a time; below it the encoder call costs more than it saves. */
const WORDWISE_FROM = 64;
const encoder = new TextEncoder();
const scratch = new ArrayBuffer(1 << 16);
const scratchBytes = new Uint8Array(scratch);
const scratchWords = new Uint32Array(scratch);

/**
 * Lowercase hex of whole bytes; `length` in characters when given. Items are hundreds of
 * characters and every one is checked, so this is the hot loop of the read path.
 */
function isHex(value: unknown, length?: number): boolean {
  if (typeof value !== 'string') return false;
  const n = value.length;
  if (length === undefined ? n % 2 !== 0 : n !== length) return false;
  return n >= WORDWISE_FROM && n <= scratchBytes.length - 4 ? isHexWordwise(value) : isHexCodeUnits(value);
}

/** A table lookup per UTF-16 code unit (charCodeAt is always an index of the table), four at a time without branching. */
function isHexCodeUnits(value: string): boolean {
  const n = value.length;
  let ok = 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) ok &= HEX_DIGIT[value.charCodeAt(i)]! & HEX_DIGIT[value.charCodeAt(i + 1)]! & HEX_DIGIT[value.charCodeAt(i + 2)]! & HEX_DIGIT[value.charCodeAt(i + 3)]!;
  for (; i < n; i++) ok &= HEX_DIGIT[value.charCodeAt(i)]!;
  return ok === 1;
}

/**
 * The same answer for a long string, three times faster: the native UTF-8 encoder copies it into
 * a scratch buffer (an ASCII string becomes one byte per character; anything else is refused),
 * then each 32-bit word tests four bytes at once. For a byte x < 0x80, adding 0x80 - k sets its
 * top bit exactly when x >= k, without a carry into the next byte, so
 *   digit = x >= 0x30 && !(x >= 0x3a),   af = x >= 0x61 && !(x >= 0x67)
 * are top bits of (w + 0x50505050) & ~(w + 0x46464646) and (w + 0x1f1f1f1f) & ~(w + 0x19191919).
 * A byte >= 0x80 may carry into its neighbour, but its own top bit already fails the check.
 */
function isHexWordwise(value: string): boolean {
  const n = value.length;
  const { read, written } = encoder.encodeInto(value, scratchBytes);
  if (read !== n || written !== n) return false;
  // Pads the last word with '0's: the bytes there are left over from an earlier string.
  scratchBytes[n] = 0x30;
  scratchBytes[n + 1] = 0x30;
  scratchBytes[n + 2] = 0x30;
  const words = (n + 3) >>> 2;
  let bad = 0;
  for (let i = 0; i < words; i++) {
    const w = scratchWords[i]!;
    bad |= w | ~(((w + 0x50505050) & ~(w + 0x46464646)) | ((w + 0x1f1f1f1f) & ~(w + 0x19191919)));
  }
  return (bad & 0x80808080) === 0;
}

const isHash = (value: unknown) => isHex(value, 64);

/** The keys of a schema in its order (the order JSON.stringify writes its output in), and which are optional. */
interface Keys {
  order: readonly string[];
  required: readonly string[];
  optional: readonly string[];
}

/** `keys('a', 'b?')`: key `a` required, `b` optional. */
function keys(...spec: string[]): Keys {
  const order = spec.map((key) => key.replace(/\?$/, ''));
  return { order, required: order.filter((_, i) => !spec[i]!.endsWith('?')), optional: order.filter((_, i) => spec[i]!.endsWith('?')) };
}

/** A plain JSON object (as JSON.parse builds) with exactly the required keys plus any of the optional ones. */
function hasKeys(data: unknown, expected: Keys): data is Data {
  return isPlainObject(data) && (hasKeysInOrder(data, expected) || hasKeysInAnyOrder(data, expected));
}

/**
 * The stored case: the object's own keys are the schema's, in its order (absent optional keys
 * skipped). Comparing each key with the one expected next is cheaper than looking it up.
 */
function hasKeysInOrder(data: Data, expected: Keys): boolean {
  const order = expected.order;
  let i = 0;
  for (const key in data) {
    while (i < order.length && order[i] !== key) {
      if (!expected.optional.includes(order[i]!)) return false;
      i++;
    }
    if (i === order.length || !Object.hasOwn(data, key)) return false;
    i++;
  }
  for (; i < order.length; i++) if (!expected.optional.includes(order[i]!)) return false;
  return true;
}

function hasKeysInAnyOrder(data: Data, expected: Keys): boolean {
  let present = 0;
  for (const key in data) {
    if (!Object.hasOwn(data, key)) return false;
    if (expected.required.includes(key)) present++;
    else if (!expected.optional.includes(key)) return false;
  }
  return present === expected.required.length;
}

function isPlainObject(data: unknown): data is Data {
  return typeof data === 'object' && data !== null && !Array.isArray(data) && Object.getPrototypeOf(data) === Object.prototype;
}

/** A peer id as a JSON object key: decimal without leading zeros, at most 0xffff. */
function isPeerKey(key: string): boolean {
  return /^(?:0|[1-9][0-9]{0,4})$/.test(key) && Number(key) <= 0xffff;
}

/**
 * A value JSON.parse could have produced, built only of plain objects, arrays and finite numbers.
 * Iterative, so a deep state cannot overflow the stack; `__proto__` keys go to zod.
 */
function isPlainJson(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return false;
      continue;
    }
    if (typeof value !== 'object') return false;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push(value[i]);
      continue;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) return false;
    for (const key in value) {
      if (!Object.hasOwn(value, key) || key === '__proto__') return false;
      stack.push((value as Data)[key]);
    }
  }
  return true;
}

const ITEM_ACCEPTED = keys('session', 'index', 'peer', 'item', 'itemHash', 'txid?', 'netAssets');
const ITEM_REJECTED = keys('session', 'peer', 'itemHash', 'txid?', 'reason');
const SIGNATURE_RECORDED = keys('session', 'peer', 'signature', 'valid');
const SESSION_COMPLETED = keys('session', 'header', 'itemCount', 'signatures', 'source');
const UNIT_ORDERED = keys('session', 'creator', 'round', 'hash', 'data');
const UNIT_SAVED = keys('session', 'unit');
const SNAPSHOT_TAKEN = keys('projection', 'version', 'position', 'session', 'state', 'stateHash');

const checks: Record<string, (data: unknown) => boolean> = {
  ItemAccepted: (d) =>
    hasKeys(d, ITEM_ACCEPTED) &&
    isCount(d.session) &&
    isCount(d.index) &&
    isU16(d.peer) &&
    isHex(d.item) &&
    isHash(d.itemHash) &&
    (!('txid' in d) || isHash(d.txid)) &&
    isSignedDecimal(d.netAssets),
  ItemRejected: (d) =>
    hasKeys(d, ITEM_REJECTED) && isCount(d.session) && isU16(d.peer) && isHash(d.itemHash) && (!('txid' in d) || isHash(d.txid)) && typeof d.reason === 'string',
  SignatureRecorded: (d) => hasKeys(d, SIGNATURE_RECORDED) && isCount(d.session) && isU16(d.peer) && isHex(d.signature, 128) && typeof d.valid === 'boolean',
  SessionCompleted: (d) => {
    if (!hasKeys(d, SESSION_COMPLETED)) return false;
    if (!isCount(d.session) || !isHex(d.header, 80) || !isCount(d.itemCount) || (d.source !== 'local' && d.source !== 'peer')) return false;
    const signatures = d.signatures;
    if (!isPlainObject(signatures)) return false;
    for (const peer in signatures) if (!Object.hasOwn(signatures, peer) || !isPeerKey(peer) || !isHex(signatures[peer], 128)) return false;
    return true;
  },
  UnitOrdered: (d) => hasKeys(d, UNIT_ORDERED) && isCount(d.session) && isU16(d.creator) && isCount(d.round) && isHash(d.hash) && isHex(d.data),
  UnitSaved: (d) => hasKeys(d, UNIT_SAVED) && isCount(d.session) && isHex(d.unit),
  SnapshotTaken: (d) =>
    hasKeys(d, SNAPSHOT_TAKEN) &&
    typeof d.projection === 'string' &&
    d.projection.length > 0 &&
    typeof d.version === 'number' &&
    Number.isSafeInteger(d.version) &&
    d.version >= 0 &&
    isUnsignedDecimal(d.position) &&
    isCount(d.session) &&
    isHash(d.stateHash) &&
    isPlainJson(d.state),
};

/** True when `data` certainly passes the current schema of `type` (false: ask zod). */
export function certainlyValid(type: string, data: unknown): boolean {
  const check = Object.hasOwn(checks, type) ? checks[type] : undefined;
  return check !== undefined && check(data);
}
