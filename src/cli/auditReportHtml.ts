/**
 * `fedlog verify --report audit.html`: the auditor's report as one self-contained HTML file, to be
 * read or archived without the tool: the federation and its keys (and where they came from), every
 * finding with its session and item, the balance sheet over time as a chart, one line per session.
 *
 * It must open offline and years later, so nothing is fetched: chart.js's minified build is inlined
 * (the same file the dashboard serves), the data travels as JSON in the page, and a
 * Content-Security-Policy forbids any request the page might otherwise make.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Finding } from './sessionVerifier.ts';
import type { VerifyReport } from './verifyCommand.ts';

let chartJs: string | undefined;

/** chart.js's package exports name no UMD build: found beside its CommonJS entry (as dashboardRoutes.ts does). */
function chartLibrary(): string {
  chartJs ??= readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return chartJs;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A script's text may not contain `</script`; JSON escapes `<` for that, and `\u2028`-safe since ES2019. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const msat = (value: string) => BigInt(value).toLocaleString('en-US');

/** The chart's series: one per balance-sheet line, plus net assets, as numbers (a chart needs no more than double precision). */
export function balanceSeries(report: VerifyReport): { label: string; points: Array<{ x: number; y: number }> }[] {
  const series = new Map<string, Array<{ x: number; y: number }>>();
  const net: Array<{ x: number; y: number }> = [];
  for (const session of report.sessions) {
    const sheet = session.balanceSheet;
    if (sheet === undefined) continue;
    for (const line of sheet.modules) {
      const label = `${line.moduleName ?? `module ${line.module}`}: ${line.name}`;
      const points = series.get(label) ?? [];
      points.push({ x: sheet.session, y: Number(line.msat) });
      series.set(label, points);
    }
    net.push({ x: sheet.session, y: Number(sheet.netAssets) });
  }
  return [...[...series].map(([label, points]) => ({ label, points })), ...(net.length === 0 ? [] : [{ label: 'net assets', points: net }])];
}

function findingRow(finding: Finding): string {
  const session = 'session' in finding ? `<a href="#session-${finding.session}">${finding.session}</a>` : '';
  const item = 'index' in finding && finding.index !== undefined ? String(finding.index) : '';
  return `<tr class="finding finding-${escapeHtml(finding.kind)}"><td>${escapeHtml(finding.kind)}</td><td class="num">${session}</td><td class="num">${item}</td><td>${escapeHtml(finding.detail)}</td></tr>`;
}

function sessionRow(session: VerifyReport['sessions'][number]): string {
  const signaturesOk = session.signatures.valid >= session.signatures.threshold;
  const sheet = session.balanceSheet;
  const cells = [
    `<td class="num">${session.session}</td>`,
    `<td class="num">${session.items.toLocaleString('en-US')}</td>`,
    `<td class="${session.headerOk ? 'ok' : 'bad'}">${session.headerOk ? 'ok' : 'MISMATCH'} <code>${session.header}</code></td>`,
    `<td class="${signaturesOk ? 'ok' : 'bad'}">${session.signatures.valid}/${session.signatures.threshold} (peers ${session.signatures.validPeers.join(', ') || 'none'})</td>`,
    `<td class="num">${sheet === undefined ? '-' : msat(sheet.netAssets)}</td>`,
    `<td class="num ${session.findings === 0 ? '' : 'bad'}">${session.findings}</td>`,
  ];
  return `<tr id="session-${session.session}">${cells.join('')}</tr>`;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
.num { text-align: right; font-variant-numeric: tabular-nums; } code { font-size: 12px; }
.ok { color: #17692b; } .bad { color: #b3261e; font-weight: 600; }
.verdict { font-size: 18px; padding: 0.5em 1em; display: inline-block; border-radius: 4px; }
.verdict.ok { background: #e3f4e6; } .verdict.bad { background: #fbe4e2; }
#chart-box { position: relative; height: 360px; }
@media print { #chart-box { height: 260px; } }`;

/** Draws the chart from the JSON in #chart-data; static, so printing or a screenshot shows it whole. */
const CHART_SCRIPT = `
const series = JSON.parse(document.getElementById('chart-data').textContent);
const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#d62728'];
new Chart(document.getElementById('balance-chart'), {
  type: 'line',
  data: { datasets: series.map((s, i) => ({ label: s.label, data: s.points, borderColor: colors[i % colors.length], backgroundColor: colors[i % colors.length], pointRadius: s.points.length > 60 ? 0 : 2, borderWidth: s.label === 'net assets' ? 3 : 1.5 })) },
  options: {
    animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    scales: { x: { type: 'linear', title: { display: true, text: 'session' }, ticks: { precision: 0 } }, y: { title: { display: true, text: 'msat' } } },
    plugins: { decimation: { enabled: true, algorithm: 'lttb', samples: 800 } },
  },
});`;

export function auditReportHtml(report: VerifyReport): string {
  const peers = Object.entries(report.keys.peers);
  const keysOrigin =
    report.keys.origin === 'pinned'
      ? `pinned by the auditor from <code>${escapeHtml(report.keys.file ?? '')}</code>`
      : '<span class="bad">taken from the source itself</span> (not pinned with --keys: the guardian vouched for its own keys)';
  const source = Object.entries(report.source).map(([k, v]) => `${escapeHtml(k)} <code>${escapeHtml(v)}</code>`).join(', ');
  const modules = `withdraw fee ${msat(report.modules.wallet.withdrawFeeMsat)} msat (from the ${report.modules.origin === 'option' ? '--withdraw-fee option' : report.modules.origin === 'source' ? 'source' : 'default: the source does not publish it'})`;
  const range = report.range.to === null ? 'no completed session' : `sessions ${report.range.from} to ${report.range.to} of ${report.range.completedSessions} completed`;
  const series = balanceSeries(report);
  const chart =
    series.length === 0
      ? `<p id="no-chart">No balance sheets: ${escapeHtml(report.balanceSheets.note ?? 'no session was verified')}.</p>`
      : `<div id="chart-box"><canvas id="balance-chart" role="img" aria-label="balance sheet per session"></canvas></div>
<script type="application/json" id="chart-data">${scriptJson(series)}</script>
<script>${chartLibrary()}</script>
<script>${CHART_SCRIPT}</script>`;
  const findings =
    report.findings.length === 0
      ? '<p id="no-findings" class="ok">No findings.</p>'
      : `<table id="findings"><thead><tr><th>kind</th><th>session</th><th>item</th><th>detail</th></tr></thead><tbody>${report.findings.map(findingRow).join('\n')}</tbody></table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fedlog audit report: ${report.ok ? 'OK' : 'FAILED'}, ${escapeHtml(range)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>fedlog audit report</h1>
<p>Written by ${escapeHtml(report.tool.name)} ${escapeHtml(report.tool.version)} at ${escapeHtml(report.generatedAt)} in ${(report.durationMs / 1000).toFixed(2)} s.</p>
<p id="verdict" class="verdict ${report.ok ? 'ok' : 'bad'}">${report.ok ? 'Verified: every header and signature set holds' + (report.balanceSheets.recomputed ? ', every item is accepted and net assets never went below zero' : '') : `FAILED: ${report.findings.length.toLocaleString('en-US')} finding(s)`} (${escapeHtml(range)})</p>

<h2>The federation</h2>
<table id="federation">
<tr><th>source</th><td>${source}</td></tr>
<tr><th>guardians</th><td>${peers.length}, threshold ${report.keys.threshold}</td></tr>
<tr><th>consensus hash</th><td>${report.keys.consensusHash === undefined ? 'not stated by the source' : `<code>${escapeHtml(report.keys.consensusHash)}</code>`}</td></tr>
<tr><th>modules</th><td>${escapeHtml(modules)}</td></tr>
<tr><th>balance sheets</th><td>${report.balanceSheets.recomputed ? 'recomputed from session 0 with every transaction signature checked' : escapeHtml(report.balanceSheets.note ?? 'not recomputed')}</td></tr>
</table>

<h2>Keys</h2>
<p id="keys-origin">Signatures were checked against keys ${keysOrigin}.</p>
<table id="keys"><thead><tr><th>peer</th><th>x-only public key</th></tr></thead><tbody>
${peers.map(([peer, key]) => `<tr><td class="num">${escapeHtml(peer)}</td><td><code>${escapeHtml(key)}</code></td></tr>`).join('\n')}
</tbody></table>

<h2>Findings (${report.findings.length.toLocaleString('en-US')})</h2>
${findings}

<h2>Balance sheet per session</h2>
${chart}

<h2>Sessions (${report.sessions.length.toLocaleString('en-US')})</h2>
<table id="sessions"><thead><tr><th>session</th><th>items</th><th>header</th><th>signatures</th><th>net assets (msat)</th><th>findings</th></tr></thead><tbody>
${report.sessions.map(sessionRow).join('\n')}
</tbody></table>
</body>
</html>
`;
}
