/* global document */
// The overview: cards, charts and tables. Cheap reads every poll (count, metrics, peers,
// projections); the per-session reads only when a session completed since the last poll.
import { get, getMetrics, histogram, histogramSince, quantile, value } from './api.js';
import { makeChart, rollingSeries, setSeries } from './charts.js';
import { bitcoin, duration, el, fillTable, isNegative, msat, num, satsOf, setText, shortHex, timeOfDay } from './format.js';

/** Sessions charted and tabled. */
const CHARTED = 100;
const TABLED = 20;
/** Poll samples kept for the latency and queue charts (at 2 s: about ten minutes). */
const SAMPLES = 300;

const sessionLink = (session) => el('a', { href: `#/session/${session}` }, num(session));

export function createOverview() {
  const charts = {
    counts: makeChart('chart-session-counts', 'bar', { yTitle: 'per session', xTitle: 'session' }),
    rates: makeChart('chart-rates', 'line', { yTitle: 'per second', xTitle: 'session' }),
    latency: makeChart('chart-latency', 'line', { yTitle: 'ms' }),
    balance: makeChart('chart-balance', 'line', { yTitle: 'sats', xTitle: 'session' }),
    peers: makeChart('chart-peers', 'bar', { yTitle: 'items', y2Title: 'sessions behind', categories: true }),
    links: makeChart('chart-links', 'bar', { yTitle: 'messages', y2Title: 'disconnects', categories: true }),
    projections: makeChart('chart-projections', 'bar', { yTitle: 'position (events)', y2Title: 'lag (events)', categories: true }),
    queue: makeChart('chart-queue', 'line', { yTitle: 'transactions' }),
  };
  const latencySamples = rollingSeries(SAMPLES);
  const queueSamples = rollingSeries(SAMPLES);
  let previousLatency;
  let shownCount;

  async function refreshSessions(count) {
    const from = Math.max(0, count - CHARTED);
    const [activity, sessions, audit, history] = await Promise.all([
      get(`/v1/sessions/activity?from=${from}&limit=${CHARTED}`),
      get(`/v1/sessions?from=${Math.max(0, count - TABLED)}&limit=${TABLED}`),
      get('/v1/audit'),
      get(`/v1/audit/history?from=${from}`),
    ]);
    const rows = activity.sessions;
    const labels = rows.map((s) => num(s.session));
    setSeries(charts.counts, labels, [
      { label: 'items', data: rows.map((s) => s.itemCount) },
      { label: 'transactions', data: rows.map((s) => s.transactions ?? null) },
    ]);
    const rate = (n, s) => (n === undefined || !s ? null : n / s.seconds);
    setSeries(charts.rates, labels, [
      { label: 'items/s', data: rows.map((s) => (s.seconds ? rate(s.itemCount, s) : null)) },
      { label: 'transactions/s', data: rows.map((s) => (s.seconds ? rate(s.transactions, s) : null)) },
    ]);

    setText('net-assets', msat(audit.netAssets));
    setText('net-assets-btc', bitcoin(audit.netAssets));
    document.getElementById('net-assets-btc').classList.toggle('negative', isNegative(audit.netAssets));
    const moduleName = (m) => m.moduleName ?? `module ${m.module}`;
    fillTable(
      document.getElementById('audit'),
      audit.modules.map((m) => [moduleName(m), m.name, { text: msat(m.msat), num: true, negative: isNegative(m.msat) }, { text: bitcoin(m.msat), num: true, negative: isNegative(m.msat) }]),
    );

    // One line per module line (wallet reserves, mint outstanding notes...), and net assets dashed.
    const lineKeys = [...new Map(history.sheets.flatMap((h) => h.modules.map((m) => [`${m.module}:${m.name}`, `${moduleName(m)} ${m.name}`]))).entries()];
    setSeries(charts.balance, history.sheets.map((h) => num(h.session)), [
      ...lineKeys.map(([key, label]) => ({
        label,
        data: history.sheets.map((h) => {
          const line = h.modules.find((m) => `${m.module}:${m.name}` === key);
          return line === undefined ? null : satsOf(line.msat);
        }),
      })),
      { label: 'net assets', data: history.sheets.map((h) => satsOf(h.netAssets)), color: '#1d232a', dashed: true },
    ]);
    fillTable(
      document.getElementById('history'),
      history.sheets
        .slice(-TABLED)
        .reverse()
        .map((h) => [sessionLink(h.session), { text: msat(h.netAssets), num: true, negative: isNegative(h.netAssets) }, { text: bitcoin(h.netAssets), num: true, negative: isNegative(h.netAssets) }]),
    );

    const byActivity = new Map(rows.map((s) => [s.session, s]));
    fillTable(
      document.getElementById('sessions'),
      sessions.sessions
        .slice()
        .reverse()
        .map((s) => {
          const a = byActivity.get(s.session);
          return [
            sessionLink(s.session),
            { text: num(s.itemCount), num: true },
            { text: num(a?.transactions), num: true },
            { text: a?.seconds === undefined ? '–' : num(a.seconds), num: true },
            { text: a?.seconds ? num(s.itemCount / a.seconds) : '–', num: true },
            { text: timeOfDay(s.completedAt), title: s.completedAt },
            // The header's first 8 bytes are the session index: the merkle root after them tells sessions apart.
            { title: s.header, node: el('code', {}, shortHex(s.header?.slice(16))) },
          ];
        }),
    );
  }

  function showMetrics(samples, at) {
    const queue = value(samples, 'consensus_submission_queue_depth');
    setText('queue-depth', num(queue));
    queueSamples.push(at, { depth: queue });
    setSeries(charts.queue, queueSamples.labels, [{ label: 'queue depth', data: queueSamples.series('depth') }]);

    // Quantiles of what was ordered since the previous poll; the first poll shows all since start.
    const latency = histogram(samples, 'consensus_ordering_latency_seconds');
    const recent = histogramSince(latency, previousLatency);
    previousLatency = latency;
    const ms = (q, h) => {
      const seconds = quantile(q, h);
      return seconds === undefined ? undefined : seconds * 1000;
    };
    latencySamples.push(at, { p50: ms(0.5, recent), p90: ms(0.9, recent), p99: ms(0.99, recent) });
    setSeries(charts.latency, latencySamples.labels, [
      { label: 'p50', data: latencySamples.series('p50') },
      { label: 'p90', data: latencySamples.series('p90') },
      { label: 'p99', data: latencySamples.series('p99') },
    ]);
    const p50 = quantile(0.5, latency);
    const p99 = quantile(0.99, latency);
    setText('latency-p50', p50 === undefined ? '–' : `${duration(p50)} p50`);
    setText('latency-p99', p99 === undefined ? 'nothing ordered yet' : `${duration(p99)} p99 · ${num(latency.count)} batches`);
  }

  function showPeers(peers, count) {
    const others = peers.filter((p) => p.connection !== 'self');
    const connected = others.filter((p) => p.connection === 'connected').length;
    setText('peers-connected', others.length === 0 ? 'alone' : `${num(connected)} of ${num(others.length)}`);
    const signed = peers.filter((p) => p.lastSignedSession !== undefined && p.lastSignedSession >= count - 1).length;
    setText('peers-signing', `${num(signed)} of ${num(peers.length)} signed the last session`);
    setSeries(
      charts.peers,
      peers.map((p) => `${p.id}${p.connection === 'self' ? ' (self)' : p.connection === 'connected' ? '' : ` (${p.connection})`}`),
      [
        { label: 'items contributed', data: peers.map((p) => p.items) },
        { label: 'sessions since last contribution', data: peers.map((p) => (p.lastContributedSession === undefined ? null : Math.max(0, count - 1 - p.lastContributedSession))), axis: 'y2', type: 'line' },
      ],
    );
    const linked = peers.filter((p) => p.link !== undefined);
    setSeries(charts.links, linked.map((p) => `${p.id}`), [
      { label: 'messages in', data: linked.map((p) => p.link.messagesIn) },
      { label: 'messages out', data: linked.map((p) => p.link.messagesOut) },
      { label: 'disconnects', data: linked.map((p) => p.link.disconnects), axis: 'y2', type: 'line', color: '#d64545' },
    ]);
    fillTable(
      document.getElementById('peers'),
      peers.map((p) => [
        { text: `${p.id}${p.connection === 'self' ? ' (self)' : ''}` },
        { node: el('span', { className: `link ${p.connection}` }, p.connection) },
        { text: p.link ? timeOfDay(p.link.since) : '–', title: p.link?.since },
        { text: num(p.link?.connects), num: true },
        { text: num(p.link?.disconnects), num: true },
        { text: p.link ? `${num(p.link.messagesIn)} / ${num(p.link.messagesOut)}` : '–', num: true },
        { text: num(p.lastContributedSession), num: true },
        { text: num(p.lastSignedSession), num: true },
        { text: num(p.items), num: true },
      ]),
    );
  }

  function showProjections(projections) {
    setSeries(charts.projections, projections.map((p) => p.name), [
      { label: 'position', data: projections.map((p) => p.position) },
      { label: 'lag', data: projections.map((p) => p.lag), axis: 'y2', type: 'line', color: '#d64545' },
    ]);
    fillTable(
      document.getElementById('projections'),
      projections.map((p) => [
        p.name,
        { text: num(p.version), num: true },
        { text: num(p.position), num: true },
        { text: num(p.lag), num: true },
        p.newestCheckpoint ? `session ${num(p.newestCheckpoint.session)} @ ${num(p.newestCheckpoint.position)}` : 'none',
      ]),
    );
  }

  return {
    charts,
    async refresh() {
      const { count } = await get('/v1/sessions/count');
      const at = new Date().toLocaleTimeString('en-GB', { hour12: false });
      const [open, samples, peers, projections] = await Promise.all([get(`/v1/sessions/activity?from=${count}&limit=1`), getMetrics(), get('/v1/peers'), get('/v1/projections')]);
      setText('session-count', num(count));
      setText('open-session', num(open.open?.session ?? count));
      setText('open-items', `${num(open.open?.itemCount ?? 0)} items so far`);
      showMetrics(samples, at);
      showPeers(peers.peers, count);
      showProjections(projections.projections);
      if (count !== shownCount) {
        await refreshSessions(count);
        shownCount = count;
      }
    },
  };
}
