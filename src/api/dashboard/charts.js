/* global document, window */
// Charts, drawn by chart.js (served by the guardian at /dashboard/chart.js, the global `Chart`).
// Every chart is made once and updated in place, without animation, so a poll redraws it cheaply.
import { num } from './format.js';

const { Chart } = window;

export const COLORS = ['#2f6fde', '#e0712c', '#2a9d6f', '#b8418f', '#8c6bd6', '#c9a227', '#4aa3b8', '#d64545'];

Chart.defaults.font.family = 'system-ui, sans-serif';
Chart.defaults.font.size = 11;
Chart.defaults.color = '#5a6470';
Chart.defaults.animation = false;

// Whole steps: counts (queue depth, disconnects) never read as 0.1 of a transaction.
const tickNumber = { precision: 0, callback: (tick) => num(tick) };

function baseOptions({ yTitle, xTitle, stacked = false, y2Title, categories = false }) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    plugins: {
      legend: { position: 'bottom', labels: { boxWidth: 10, boxHeight: 10 } },
      tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${num(ctx.parsed.y ?? ctx.parsed.x)}` } },
    },
    scales: {
      // A few named categories (peers, projections) are all labelled, turned if they must; sessions and times are thinned.
      x: { stacked, title: { display: xTitle !== undefined, text: xTitle }, ticks: categories ? { autoSkip: false, maxRotation: 60 } : { maxRotation: 0, autoSkipPadding: 8 } },
      y: { stacked, beginAtZero: true, title: { display: yTitle !== undefined, text: yTitle }, ticks: tickNumber },
      ...(y2Title === undefined ? {} : { y2: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: y2Title }, ticks: tickNumber } }),
    },
  };
}

/** A chart on the canvas with this id: 'line' or 'bar'; axes { yTitle, xTitle, y2Title, stacked, categories }. */
export function makeChart(id, type, axes) {
  const canvas = document.getElementById(id);
  return new Chart(canvas, { type, data: { labels: [], datasets: [] }, options: baseOptions(axes) });
}

/**
 * Replaces a chart's labels and series. A series: { label, data, color?, axis?, type?, dashed? };
 * kept datasets are changed in place so legend toggles survive an update.
 */
export function setSeries(chart, labels, series) {
  chart.data.labels = labels;
  const line = chart.config.type === 'line';
  chart.data.datasets = series.map((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length];
    const kept = chart.data.datasets.find((d) => d.label === s.label) ?? {};
    return Object.assign(kept, {
      label: s.label,
      data: s.data,
      type: s.type,
      yAxisID: s.axis ?? 'y',
      borderColor: color,
      backgroundColor: line || s.type === 'line' ? color : color + 'cc',
      borderWidth: line || s.type === 'line' ? 2 : 0,
      borderDash: s.dashed ? [5, 4] : [],
      pointRadius: line || s.type === 'line' ? (s.data.length > 40 ? 0 : 2) : undefined,
      tension: 0.2,
      spanGaps: true,
    });
  });
  chart.update('none');
}

/** A time series kept by the page between polls (queue depth, latency), at most `max` points. */
export function rollingSeries(max) {
  const labels = [];
  const values = new Map();
  return {
    labels,
    push(label, point) {
      labels.push(label);
      for (const [key, v] of Object.entries(point)) {
        if (!values.has(key)) values.set(key, Array(labels.length - 1).fill(null));
        values.get(key).push(v ?? null);
      }
      for (const [key, list] of values) if (list.length < labels.length) values.get(key).push(null);
      if (labels.length > max) {
        labels.shift();
        for (const list of values.values()) list.shift();
      }
    },
    series: (key) => values.get(key) ?? [],
  };
}
