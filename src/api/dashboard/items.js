// Decoded consensus items (GET /v1/sessions/:i/items) as table cells and as a transaction's detail.
import { bitcoin, el, msat, num, shortHex } from './format.js';

/** The `amount` of a decoded module body, wherever the codec nests it (a versioned body wraps it). */
export function amountOf(value) {
  if (value === null || typeof value !== 'object') return undefined;
  if (typeof value.amount === 'string') return value.amount;
  for (const inner of Object.values(value)) {
    const found = amountOf(inner);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** "mint IssueNote 9,000 sat": module, body kind and amount of one input, output or module item. */
export function partText(part) {
  if (part.error !== undefined) return `module ${part.module}: ${part.error}`;
  const amount = amountOf(part.value);
  return [part.moduleName ?? `module ${part.module}`, part.kind, amount === undefined ? undefined : bitcoin(amount)].filter(Boolean).join(' ');
}

const list = (parts) =>
  el(
    'ul',
    { className: 'parts' },
    ...parts.map((p) => {
      const amount = amountOf(p.value);
      return el('li', { title: amount === undefined ? undefined : `${msat(amount)} msat` }, partText(p));
    }),
  );

/** A row of the session page's items table. */
export function itemRow(item) {
  const kind = item.kind === 'module' ? (item.moduleItem?.kind ?? 'module item') : item.kind;
  if (item.kind === 'transaction') {
    const tx = item.transaction;
    return [
      { text: num(item.index), num: true },
      { text: num(item.peer), num: true },
      kind,
      el('a', { href: `#/tx/${tx.txid}`, className: 'mono', title: tx.txid }, shortHex(tx.txid)),
      list(tx.inputs),
      list(tx.outputs),
    ];
  }
  return [
    { text: num(item.index), num: true },
    { text: num(item.peer), num: true },
    kind,
    el('code', { title: item.itemHash ?? item.item }, shortHex(item.itemHash ?? item.item)),
    item.moduleItem === undefined ? { text: item.error ?? '' } : list([item.moduleItem]),
    '',
  ];
}

/** A decoded item in full: its parts and their decoded bodies, for the transaction page. */
export function itemDetail(item) {
  // An input that spends an earlier transaction's output links to that transaction.
  const spent = (value) => (typeof value?.txid === 'string' && /^[0-9a-f]{64}$/.test(value.txid) ? el('p', {}, 'spends output ', String(value.index ?? '?'), ' of ', el('a', { href: `#/tx/${value.txid}`, className: 'mono' }, shortHex(value.txid))) : undefined);
  const part = (title, p) =>
    el(
      'div',
      { className: 'part' },
      el('h4', {}, title, ': ', partText(p)),
      spent(p.value),
      el('pre', { className: 'mono wrap' }, JSON.stringify(p.value ?? { error: p.error, body: p.body }, null, 2)),
    );
  if (item.kind !== 'transaction') return el('div', {}, item.moduleItem === undefined ? el('p', {}, item.error ?? 'undecodable') : part('module item', item.moduleItem));
  const tx = item.transaction;
  return el(
    'div',
    {},
    ...tx.inputs.map((p, i) => part(`input ${i}`, p)),
    ...tx.outputs.map((p, i) => part(`output ${i}`, p)),
    el('p', { className: 'muted' }, `nonce ${tx.nonce} · ${num(tx.signatures.length)} signature${tx.signatures.length === 1 ? '' : 's'}`),
  );
}
