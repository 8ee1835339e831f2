/* global document */
// How the dashboard writes numbers, amounts and times, and builds its DOM: always textContent,
// never HTML, so nothing the API returns can run as markup.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** 1234567 -> "1,234,567"; fractions to two places; undefined -> "–". */
export function num(value) {
  if (value === undefined || value === null || Number.isNaN(value)) return '–';
  if (typeof value === 'bigint') return value.toLocaleString('en-US');
  return Number.isInteger(value) ? integer.format(value) : decimal.format(value);
}

/** A decimal msat string (u64 or signed) with separators, exactly (a bigint, not a float). */
export function msat(value) {
  if (value === undefined || value === null) return '–';
  return BigInt(value).toLocaleString('en-US');
}

const MSAT_PER_SAT = 1000n;
const MSAT_PER_BTC = 100_000_000_000n;

/** msat as a reader thinks of it: BTC from 0.001 BTC up, otherwise sats (with msat left over). */
export function bitcoin(value) {
  if (value === undefined || value === null) return '–';
  const amount = BigInt(value);
  const magnitude = amount < 0n ? -amount : amount;
  if (magnitude >= MSAT_PER_BTC / 1000n) {
    const sign = amount < 0n ? '-' : '';
    const whole = magnitude / MSAT_PER_BTC;
    const fraction = (magnitude % MSAT_PER_BTC).toString().padStart(11, '0').slice(0, 8).replace(/0+$/, '');
    return `${sign}${whole.toLocaleString('en-US')}${fraction === '' ? '' : '.' + fraction} BTC`;
  }
  const sats = amount / MSAT_PER_SAT;
  const rest = magnitude % MSAT_PER_SAT;
  const fraction = rest === 0n ? '' : '.' + rest.toString().padStart(3, '0').replace(/0+$/, '');
  return `${amount < 0n && sats === 0n ? '-' : ''}${sats.toLocaleString('en-US')}${fraction} sat`;
}

/** msat as a float number of sats, for charts (exactness does not matter at a pixel's height). */
export const satsOf = (value) => Number(BigInt(value)) / 1000;

export const isNegative = (value) => typeof value === 'string' && value.startsWith('-');

/** An ISO time as the local time of day. */
export function timeOfDay(iso) {
  if (iso === undefined) return '–';
  return new Date(iso).toLocaleTimeString('en-GB', { hour12: false });
}

/** Seconds as "850 ms", "12.5 s", "3 min 5 s", "2 h 4 min". */
export function duration(seconds) {
  if (seconds === undefined || seconds === null) return '–';
  if (seconds < 1) return `${integer.format(seconds * 1000)} ms`;
  if (seconds < 60) return `${decimal.format(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** A long hex string shortened for a table cell; the whole of it stays in the title. */
export const shortHex = (hex, keep = 12) => (hex === undefined ? '–' : hex.length <= 2 * keep ? hex : `${hex.slice(0, keep)}…${hex.slice(-4)}`);

/**
 * An element: el('td', { className: 'num', title: 'x' }, 'text', child...). Strings become text
 * nodes; undefined children are left out.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  return node;
}

/** A table body filled with rows: each row an array of cells, a cell a string, node or { text, num, negative, title }. */
export function fillTable(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren(
    ...rows.map((cells) =>
      el(
        'tr',
        {},
        ...cells.map((cell) => {
          if (cell instanceof globalThis.Node) return el('td', {}, cell);
          const value = typeof cell === 'object' && cell !== null ? cell : { text: cell };
          const td = el('td', { title: value.title }, value.node ?? (value.text === undefined ? '' : String(value.text)));
          if (value.num) td.classList.add('num');
          if (value.negative) td.classList.add('negative');
          return td;
        }),
      ),
    ),
  );
}

export function setText(id, text) {
  document.getElementById(id).textContent = text;
}
