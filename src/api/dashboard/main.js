/* global document, window, setTimeout */
// The dashboard: the overview (#/), a session (#/session/<i>) and a transaction (#/tx/<txid>).
// It polls the guardian's own API, so it follows new sessions without a reload.
import { get } from './api.js';
import { num } from './format.js';
import { createOverview } from './overview.js';
import { createSessionPage, createTransactionPage } from './pages.js';

const POLL_MS = 2000;
const TXID = /^[0-9a-fA-F]{64}$/;
const SESSION = /^[0-9]{1,15}$/;

let federationAnswer;
const federation = () => (federationAnswer ??= get('/v1/federation'));

const overview = createOverview();
const sessionPage = createSessionPage(federation);
const transactionPage = createTransactionPage();
const pages = { overview: document.getElementById('overview'), session: document.getElementById('session-page'), transaction: document.getElementById('transaction-page') };
const status = document.getElementById('status');

function report(error) {
  status.textContent = `cannot reach the guardian: ${error.message}`;
  status.className = 'error';
}

/** The page the location's hash names, shown and filled. */
async function route() {
  const [, kind, arg] = /^#\/(session|tx)\/([^/]+)$/.exec(window.location.hash) ?? [];
  const shown = kind === 'session' && SESSION.test(arg) ? 'session' : kind === 'tx' && TXID.test(arg) ? 'transaction' : 'overview';
  for (const [name, page] of Object.entries(pages)) page.hidden = name !== shown;
  window.scrollTo(0, 0);
  try {
    if (shown === 'session') await sessionPage.show(Number(arg));
    if (shown === 'transaction') await transactionPage.show(arg.toLowerCase());
    // Charts drawn while hidden have no size: resize them once visible.
    if (shown === 'overview') for (const chart of Object.values(overview.charts)) chart.resize();
  } catch (error) {
    report(error);
  }
}

document.getElementById('search').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('search-input');
  const query = input.value.trim();
  if (TXID.test(query)) window.location.hash = `#/tx/${query.toLowerCase()}`;
  else if (SESSION.test(query)) window.location.hash = `#/session/${query}`;
  else {
    input.setCustomValidity('a transaction id (64 hex characters) or a session number');
    input.reportValidity();
  }
});
document.getElementById('search-input').addEventListener('input', (event) => event.target.setCustomValidity(''));
window.addEventListener('hashchange', () => void route());

async function loop() {
  try {
    const fed = await federation();
    document.getElementById('federation').textContent = `${num(fed.peers.length)} guardian${fed.peers.length === 1 ? '' : 's'}, threshold ${num(fed.threshold)}`;
    await overview.refresh();
    status.textContent = `updated ${new Date().toLocaleTimeString('en-GB', { hour12: false })}`;
    status.className = 'muted';
  } catch (error) {
    federationAnswer = undefined;
    report(error);
  }
  setTimeout(() => void loop(), POLL_MS);
}

void route();
void loop();
