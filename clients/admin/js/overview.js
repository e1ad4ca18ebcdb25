// The live overview: a server-sent event stream of one sample a second, the numbers, and
// two uPlot line charts of the last 15 minutes (the server sends what it kept on connect).
import { bytes, duration, el, fill, link, num, seg } from './format.js';

const KEEP = 900; // 15 minutes of samples
const $ = (id) => document.getElementById(id);

/** Column arrays for the charts: time, then each series. */
const data = { t: [], connections: [], detached: [], inps: [], deliveries: [] };
let charts = [];
let source = null;

function chart(container, series, colors) {
  const opts = {
    width: container.clientWidth || 320,
    height: 200,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, 1) * 1.1] } },
    axes: [{ stroke: '#5b6473', grid: { stroke: '#eef0f3' } },
      { stroke: '#5b6473', grid: { stroke: '#eef0f3' }, size: 50, values: (u, ticks) => ticks.map(num) }],
    series: [{}, ...series.map((label, i) => ({ label, stroke: colors[i], width: 2, points: { show: false } }))],
  };
  // eslint-disable-next-line no-undef
  const plot = new uPlot(opts, [[], ...series.map(() => [])], container);
  new ResizeObserver(() => plot.setSize({ width: container.clientWidth, height: 200 })).observe(container);
  return plot;
}

function ensureCharts() {
  if (charts.length || typeof uPlot === 'undefined') return;
  charts = [
    { plot: chart($('chart-connections'), ['connections', 'detached'], ['#2563eb', '#d97706']),
      node: $('chart-connections'), cols: () => [data.t, data.connections, data.detached] },
    { plot: chart($('chart-messages'), ['messages in/s', 'deliveries/s'], ['#16a34a', '#9333ea']),
      node: $('chart-messages'), cols: () => [data.t, data.inps, data.deliveries] },
  ];
}

function push(sample) {
  data.t.push(sample.t / 1000);
  data.connections.push(sample.connections);
  data.detached.push(sample.detached);
  data.inps.push(sample.messages_in_per_s);
  data.deliveries.push(sample.deliveries_per_s);
  if (data.t.length > KEEP) for (const column of Object.values(data)) column.shift();
}

function redraw() {
  ensureCharts();
  for (const { plot, node, cols } of charts) {
    const columns = cols();
    plot.setData(columns);
    const max = Math.max(0, ...columns.slice(1).flatMap((c) => c));
    node.dataset.max = String(max);
    node.dataset.points = String(columns[0].length);
  }
}

function show(sample) {
  $('node-id').textContent = sample.cluster.node;
  $('uptime').textContent = duration(sample.uptime_s);
  $('stat-connections').textContent = num(sample.connections);
  $('stat-transports').textContent = Object.entries(sample.by_transport).map(([k, v]) => `${k} ${num(v)}`).join(' · ');
  $('stat-detached').textContent = num(sample.detached);
  $('stat-codecs').textContent = Object.entries(sample.by_codec).map(([k, v]) => `${k} ${num(v)}`).join(' · ');
  $('stat-in').textContent = num(sample.messages_in_per_s);
  $('stat-bytes-in').textContent = `${bytes(sample.bytes_in_per_s)}/s`;
  $('stat-deliveries').textContent = num(sample.deliveries_per_s);
  $('stat-bytes-out').textContent = `${bytes(sample.bytes_out_per_s)}/s`;
  $('stat-rooms').textContent = num(sample.rooms);
  $('stat-slow').textContent = num(sample.slow_consumers);
  $('stat-shed').textContent = `answers shed ${num(sample.answers_shed)} · evicted ${num(sample.detached_evicted)}`;
  $('stat-errors').textContent = num(sample.errors_per_s);
  $('stat-refused').textContent = `handshakes refused ${num(sample.handshakes_refused)}`;
  const c = sample.cluster;
  $('stat-nodes').textContent = c.clustered ? `${c.peers.length + 1} nodes` : 'single';
  $('stat-backend').textContent = c.clustered
    ? `backend ${c.backend_up ? 'up' : 'DOWN'} · dropped ${num(c.dropped)}` : 'no cluster backend';
  $('stat-backend').classList.toggle('bad', c.clustered && !c.backend_up);
  fill($('top-rooms').tBodies[0], sample.top_rooms.length
    ? sample.top_rooms.map((r) => el('tr', {},
      el('td', {}, link(`#/rooms/${seg(r.room)}`, r.room)), el('td', { class: 'num' }, num(r.members)),
      el('td', { class: 'num' }, num(r.messages_per_s)), el('td', { class: 'num' }, num(r.deliveries_per_s))))
    : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'No room traffic this second'))]);
  fill($('errors').tBodies[0], Object.entries(sample.errors).map(([code, n]) =>
    el('tr', { class: n ? 'bad' : '' }, el('td', {}, el('code', {}, code)), el('td', { class: 'num' }, num(n)))));
  fill($('nodes'), [el('li', {}, el('code', {}, c.node), ' (this node)'),
    ...c.peers.map((p) => el('li', {}, el('code', {}, p)))]);
}

/** Opens the stream (once per login). `onEnded` runs when the server ends it. */
export function startOverview(onEnded) {
  stopOverview();
  for (const column of Object.values(data)) column.length = 0;
  source = new EventSource('/admin/api/stream');
  source.addEventListener('open', () => { $('live-state').textContent = 'live'; });
  source.addEventListener('history', (e) => {
    for (const column of Object.values(data)) column.length = 0;
    const samples = JSON.parse(e.data);
    samples.forEach(push);
    if (samples.length) show(samples[samples.length - 1]);
    redraw();
  });
  source.addEventListener('sample', (e) => {
    const sample = JSON.parse(e.data);
    push(sample);
    show(sample);
    redraw();
  });
  source.addEventListener('error', () => {
    // Closed for good: the server refused the stream (logged out, or 429
    // when this login already has 4 open, one per tab); else the browser
    // reconnects by itself.
    $('live-state').textContent = source?.readyState === EventSource.CLOSED
      ? 'stopped: the server refused this stream (one login has at most 4 tabs)'
      : 'reconnecting…';
    onEnded?.();
  });
}

/** Closes the stream. */
export function stopOverview() {
  source?.close();
  source = null;
}
