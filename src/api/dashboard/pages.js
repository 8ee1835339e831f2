/* global document */
// The session page (#/session/<i>) and the transaction page (#/tx/<txid>).
import { get, HttpError } from './api.js';
import { duration, el, fillTable, num, shortHex, timeOfDay } from './format.js';
import { itemDetail, itemRow } from './items.js';

const ITEMS_PER_PAGE = 100;

function facts(id, pairs) {
  document.getElementById(id).replaceChildren(...pairs.filter(([, v]) => v !== undefined).flatMap(([term, v]) => [el('dt', {}, term), el('dd', {}, v)]));
}

export function createSessionPage(federation) {
  let session;
  let offset = 0;
  let total = 0;

  async function showItems() {
    const page = await get(`/v1/sessions/${session}/items?offset=${offset}&limit=${ITEMS_PER_PAGE}`);
    total = page.total ?? page.items.length;
    fillTable(document.getElementById('session-items'), page.items.map(itemRow));
    document.getElementById('items-range').textContent = total === 0 ? 'no items' : `${num(offset + 1)}–${num(offset + page.items.length)} of ${num(total)}`;
    document.getElementById('items-previous').disabled = offset === 0;
    document.getElementById('items-next').disabled = offset + ITEMS_PER_PAGE >= total;
  }
  document.getElementById('items-previous').addEventListener('click', () => {
    offset = Math.max(0, offset - ITEMS_PER_PAGE);
    void showItems();
  });
  document.getElementById('items-next').addEventListener('click', () => {
    offset += ITEMS_PER_PAGE;
    void showItems();
  });

  return {
    async show(i) {
      session = i;
      offset = 0;
      document.getElementById('session-title').textContent = `Session ${num(i)}`;
      let detail;
      try {
        detail = await get(`/v1/sessions/${i}/summary`);
      } catch (error) {
        if (!(error instanceof HttpError) || error.status !== 404) throw error;
        facts('session-header', [['status', 'not started yet']]);
        fillTable(document.getElementById('session-signatures'), []);
        fillTable(document.getElementById('session-items'), []);
        return;
      }
      const fed = await federation();
      const validCount = detail.signatures.filter((s) => s.valid === true).length;
      facts('session-header', [
        ['status', detail.status === 'complete' ? `complete (${detail.source === 'peer' ? "a peer's signed outcome" : 'signed here'})` : 'open: being agreed now'],
        ['header', detail.header === undefined ? undefined : el('code', { className: 'wrap' }, detail.header)],
        ['items', num(detail.itemCount)],
        ['transactions', num(detail.transactions)],
        ['module items', num(detail.moduleItems)],
        ['started', detail.startedAt === undefined ? undefined : `${timeOfDay(detail.startedAt)} (${detail.startedAt})`],
        ['completed', detail.completedAt === undefined ? undefined : `${timeOfDay(detail.completedAt)} (${detail.completedAt})`],
        ['took', detail.seconds === undefined ? undefined : `${duration(detail.seconds)}${detail.seconds > 0 ? ` · ${num(detail.itemCount / detail.seconds)} items/s` : ''}`],
        ['signatures', `${num(validCount)} valid of ${num(fed.peers.length)} guardians (threshold ${num(fed.threshold)})`],
      ]);
      const byPeer = new Map(detail.signatures.map((s) => [s.peer, s]));
      fillTable(
        document.getElementById('session-signatures'),
        fed.peers.map(({ id }) => {
          const s = byPeer.get(id);
          const validity = s?.valid === undefined ? (s === undefined ? 'none recorded' : 'not recorded') : s.valid ? 'valid' : 'INVALID';
          return [
            { text: num(id) },
            { node: el('span', { className: `validity ${s?.valid === true ? 'valid' : s?.valid === false ? 'invalid' : 'none'}` }, validity) },
            s?.inOutcome ? 'yes' : 'no',
            s?.signature === undefined ? '–' : el('code', { title: s.signature }, shortHex(s.signature, 16)),
          ];
        }),
      );
      await showItems();
    },
  };
}

export function createTransactionPage() {
  return {
    async show(txid) {
      document.getElementById('transaction-id').textContent = txid;
      const body = document.getElementById('transaction-body');
      body.replaceChildren();
      const status = await get(`/v1/transactions/${txid}`);
      const sessionLink = status.session === undefined ? undefined : el('a', { href: `#/session/${status.session}` }, `session ${num(status.session)}`);
      facts('transaction-facts', [
        ['status', el('span', { className: `tx-status ${status.status}` }, status.status)],
        ['session', sessionLink],
        ['index', status.index === undefined ? undefined : num(status.index)],
        ['reason', status.reason],
      ]);
      if (status.status !== 'accepted') {
        if (status.status === 'unknown') body.append(el('p', { className: 'muted' }, 'This guardian has not seen this transaction (or forgot an old rejection).'));
        return;
      }
      const page = await get(`/v1/sessions/${status.session}/items?offset=${status.index}&limit=1`);
      const item = page.items[0];
      if (item === undefined) return;
      const amounts = [...item.transaction.inputs, ...item.transaction.outputs].length;
      body.append(el('h3', {}, `Decoded (${num(amounts)} parts)`), itemDetail(item));
    },
  };
}
