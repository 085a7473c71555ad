/*
 * cai live monitor: follows the node's Server-Sent Events (GET /events, one Snapshot JSON per event, as the
 * monitor contract of issue #7 describes) and draws throughput, the pipeline with its buffer fill, training curves, model actors,
 * memory and a feed of recent samples. Plain JS, no build step; Chart.js comes from the node's WebJar route.
 * Every text from the server is shown with textContent, never parsed as HTML.
 */
'use strict';

(function () {
  const WINDOW_MS = 5 * 60 * 1000; // throughput charts keep the last 5 minutes
  const MAX_SAMPLES = 50; // feed length
  const MAX_RETRY_MS = 15000;
  const GRAPH_TITLES = {
    sl: 'SL-CAI · critique → revision',
    label: 'AI feedback · preference labels',
    rl: 'RL-CAI · PPO'
  };
  // Tableau 10 then its light variants: distinct on a dark background, one per stage in order of appearance.
  const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7',
    '#9c755f', '#bab0ac', '#a0cbe8', '#ffbe7d', '#8cd17d', '#f1ce63', '#86bcb6', '#ff9d9a', '#d4a6c8',
    '#d7b5a6'];

  /** What tests read: kept up to date after every snapshot. */
  const dashboard = {events: 0, last: null, samplesShown: 0, chartPoints: 0};
  window.caiDashboard = dashboard;

  // ---------------------------------------------------------------- formatting helpers

  const $ = (id) => document.getElementById(id);
  const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
  const clamp01 = (x) => Math.min(1, Math.max(0, x));
  const pad2 = (n) => String(n).padStart(2, '0');

  /** A new element with a class and a text (set as text, never as HTML). */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setText(id, text) {
    $(id).textContent = text;
  }

  function fmtClock(ms) {
    if (!isNum(ms)) return '—';
    const d = new Date(ms);
    return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
  }

  function fmtNum(x, digits) {
    return isNum(x) ? x.toFixed(digits) : '—';
  }

  function fmtInt(x) {
    return isNum(x) ? Math.round(x).toLocaleString('en-US') : '—';
  }

  function fmtRate(x) {
    if (!isNum(x)) return '—';
    return x < 10 ? x.toFixed(2) : x.toFixed(1);
  }

  function fmtMs(x) {
    if (!isNum(x)) return '—';
    if (x < 1000) return x.toFixed(x < 10 ? 1 : 0) + ' ms';
    if (x < 60000) return (x / 1000).toFixed(2) + ' s';
    return (x / 60000).toFixed(1) + ' min';
  }

  function fmtBytes(x) {
    if (!isNum(x)) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = x;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + units[i];
  }

  // ---------------------------------------------------------------- buffer fill colours

  /** Semantic class of a buffer fill: idle/working (low), filling (mid), backpressuring its upstream (high). */
  function fillClass(fill) {
    if (!isNum(fill)) return 'fill-unknown';
    if (fill >= 0.9) return 'fill-high';
    if (fill >= 0.5) return 'fill-mid';
    return 'fill-low';
  }

  /** Hue of a buffer fill: green (140) at 0, amber (38) at 0.5, red (0) at 1. */
  function fillHue(fill) {
    const f = clamp01(fill);
    return f <= 0.5 ? 140 - (140 - 38) * (f / 0.5) : 38 - 38 * ((f - 0.5) / 0.5);
  }

  const seriesColors = new Map();

  function seriesColor(key) {
    if (!seriesColors.has(key)) seriesColors.set(key, PALETTE[seriesColors.size % PALETTE.length]);
    return seriesColors.get(key);
  }

  // ---------------------------------------------------------------- charts

  const hasCharts = typeof window.Chart === 'function';
  if (hasCharts) {
    Chart.defaults.color = '#9aa6b6';
    Chart.defaults.borderColor = 'rgba(255, 255, 255, 0.07)';
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 11;
  }

  function lineChart(canvasId, xTitle, yTitle, xIsClock) {
    if (!hasCharts) {
      const box = $(canvasId).parentElement;
      box.replaceChildren(el('p', 'empty', 'Chart.js did not load'));
      return null;
    }
    return new Chart($(canvasId), {
      type: 'line',
      data: {datasets: []},
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: {mode: 'nearest', axis: 'x', intersect: false},
        elements: {point: {radius: 0, hitRadius: 6}, line: {borderWidth: 1.6, tension: 0.25}},
        plugins: {
          legend: {position: 'bottom', labels: {boxWidth: 8, boxHeight: 8, padding: 6, font: {size: 10}}},
          tooltip: {callbacks: xIsClock ? {title: (items) => fmtClock(items[0].parsed.x)} : {}}
        },
        scales: {
          x: {
            type: 'linear',
            title: {display: !!xTitle, text: xTitle},
            ticks: xIsClock ? {callback: (v) => fmtClock(v), maxTicksLimit: 6, maxRotation: 0} : {precision: 0}
          },
          y: {beginAtZero: true, title: {display: !!yTitle, text: yTitle}}
        }
      }
    });
  }

  const charts = {
    throughput: lineChart('throughput-chart', '', 'elements/s', true),
    tokens: lineChart('tokens-chart', '', 'tokens/s', true),
    ppo: lineChart('ppo-chart', 'policy version', 'score', false),
    loss: lineChart('loss-chart', 'step', 'loss', false)
  };
  if (charts.ppo) {
    charts.ppo.options.scales.y.beginAtZero = false;
    charts.ppo.options.scales.y1 = {
      position: 'right', beginAtZero: true, title: {display: true, text: 'KL'}, grid: {drawOnChartArea: false}
    };
    charts.ppo.data.datasets.push(
      dataset('score', '#4e9df5', 'y'),
      dataset('KL', '#f28e2b', 'y1'));
    charts.ppo.options.elements.point.radius = 2;
  }
  if (charts.loss) {
    charts.loss.options.scales.y.beginAtZero = false;
    charts.loss.options.elements.point.radius = 0;
  }

  function dataset(label, color, yAxisID) {
    const ds = {label: label, data: [], borderColor: color, backgroundColor: color};
    if (yAxisID) ds.yAxisID = yAxisID;
    return ds;
  }

  function datasetFor(chart, label, color) {
    let ds = chart.data.datasets.find((d) => d.label === label);
    if (!ds) {
      ds = dataset(label, color);
      chart.data.datasets.push(ds);
    }
    return ds;
  }

  /** Appends one point per stage at the snapshot's time and drops points older than the window. */
  function updateRateChart(chart, snapshot, field, include) {
    if (!chart || !isNum(snapshot.timeMs)) return;
    const t = snapshot.timeMs;
    for (const ds of chart.data.datasets) {
      // The node restarted or the clock went back: start over rather than draw a line back in time.
      if (ds.data.length && ds.data[ds.data.length - 1].x > t) ds.data.length = 0;
    }
    for (const s of snapshot.stages || []) {
      const key = s.graph + '/' + s.stage;
      const existing = chart.data.datasets.find((d) => d.label === key);
      if (!existing && !include(s)) continue;
      const ds = existing || datasetFor(chart, key, seriesColor(key));
      ds.data.push({x: t, y: isNum(s[field]) ? s[field] : null});
    }
    for (const ds of chart.data.datasets) {
      while (ds.data.length && ds.data[0].x < t - WINDOW_MS) ds.data.shift();
    }
    chart.options.scales.x.max = t;
    chart.options.scales.x.min = Math.max(t - WINDOW_MS, firstX(chart, t));
    chart.update('none');
  }

  function firstX(chart, fallback) {
    let min = fallback;
    for (const ds of chart.data.datasets) if (ds.data.length) min = Math.min(min, ds.data[0].x);
    return min === fallback ? fallback - 1000 : min;
  }

  /** Adds (x, y) to a curve indexed by a growing x (version, step); same x replaces, a smaller x restarts it. */
  function appendCurve(ds, x, y) {
    if (!isNum(x)) return;
    const last = ds.data[ds.data.length - 1];
    if (last && last.x === x) {
      last.y = isNum(y) ? y : null;
      return;
    }
    if (last && last.x > x) ds.data.length = 0;
    ds.data.push({x: x, y: isNum(y) ? y : null});
  }

  function pointCount(chart) {
    return chart ? chart.data.datasets.reduce((n, ds) => n + ds.data.length, 0) : 0;
  }

  // ---------------------------------------------------------------- pipeline diagram

  let pipelineLayout = '';
  const boxes = new Map();

  function renderPipeline(stages) {
    const layout = stages.map((s) => s.graph + '/' + s.stage).join(',');
    if (layout !== pipelineLayout) {
      buildPipeline(stages);
      pipelineLayout = layout;
    }
    for (const s of stages) updateBox(boxes.get(s.graph + '/' + s.stage), s);
  }

  function buildPipeline(stages) {
    const root = $('pipeline');
    root.replaceChildren();
    boxes.clear();
    if (!stages.length) {
      root.append(el('p', 'empty', 'no stages yet'));
      return;
    }
    const lanes = new Map();
    for (const s of stages) {
      if (!lanes.has(s.graph)) {
        const row = el('div', 'graph-row');
        row.dataset.graph = s.graph;
        const label = el('div', 'graph-label');
        label.append(el('span', 'graph-name', s.graph), el('span', 'graph-title', GRAPH_TITLES[s.graph] || ''));
        const lane = el('div', 'lane');
        row.append(label, lane);
        root.append(row);
        lanes.set(s.graph, lane);
      }
      const lane = lanes.get(s.graph);
      const key = s.graph + '/' + s.stage;
      const arrow = lane.children.length ? el('span', 'arrow', '→') : null;
      if (arrow) lane.append(arrow);
      const box = el('div', 'stage');
      box.dataset.key = key;
      const name = el('div', 'stage-name');
      const swatch = el('span', 'swatch');
      swatch.style.background = seriesColor(key);
      name.append(swatch, el('span', '', s.stage));
      const rate = el('div', 'stage-rate');
      const inFlight = el('div', 'stage-meta');
      const latency = el('div', 'stage-meta');
      const bar = el('div', 'fill-bar');
      const barInner = el('div', 'fill-bar-inner');
      bar.append(barInner);
      box.append(name, rate, inFlight, latency, bar);
      lane.append(box);
      boxes.set(key, {box, arrow, rate, inFlight, latency, barInner});
    }
  }

  function updateBox(b, s) {
    const fill = s.bufferFill;
    const cls = fillClass(fill);
    b.box.className = 'stage ' + cls;
    if (isNum(fill)) {
      b.box.style.setProperty('--hue', fillHue(fill).toFixed(0));
      b.barInner.style.width = (clamp01(fill) * 100).toFixed(0) + '%';
    } else {
      b.box.style.removeProperty('--hue');
      b.barInner.style.width = '0%';
    }
    if (b.arrow) b.arrow.className = cls === 'fill-high' ? 'arrow pressed' : 'arrow';
    b.rate.textContent = fmtRate(s.elementsPerSec) + ' el/s';
    b.inFlight.textContent = fmtInt(s.inFlight) + '/' + fmtInt(s.capacity) + ' in flight';
    b.latency.textContent = 'mean ' + fmtMs(s.latencyMeanMs);
    b.box.title = s.graph + '/' + s.stage + ': ' + fmtInt(s.elements) + ' elements, ' + fmtInt(s.tokens)
        + ' tokens (' + fmtRate(s.tokensPerSec) + '/s), buffer fill ' + fmtNum(fill, 2)
        + ', max latency ' + fmtMs(s.latencyMaxMs);
  }

  // ---------------------------------------------------------------- status panels

  function renderHeadline(snapshot) {
    setText('phase', snapshot.phase || '—');
    const learner = snapshot.learner;
    setText('policy-version', learner && isNum(learner.policyVersion) ? 'v' + learner.policyVersion : '—');
    setText('score', learner ? fmtNum(learner.score, 3) : '—');
    setText('kl', learner ? fmtNum(learner.kl, 3) : '—');
    setText('last-update', 'updated ' + fmtClock(snapshot.timeMs));
  }

  function facts(id, pairs) {
    const dl = $(id);
    dl.replaceChildren();
    for (const [name, value] of pairs) {
      const pair = el('div', 'fact');
      pair.append(el('dt', '', name), el('dd', '', value));
      dl.append(pair);
    }
  }

  function renderLearner(learner) {
    if (!learner) {
      facts('learner', [['updates', 'none yet']]);
      return;
    }
    if (charts.ppo) {
      appendCurve(charts.ppo.data.datasets[0], learner.policyVersion, learner.score);
      appendCurve(charts.ppo.data.datasets[1], learner.policyVersion, learner.kl);
      charts.ppo.update('none');
    }
    facts('learner', [
      ['updates', fmtInt(learner.updates)],
      ['KL coef', fmtNum(learner.klCoef, 3)],
      ['approx KL', fmtNum(learner.approxKl, 4)],
      ['clip frac', fmtNum(learner.clipFraction, 3)],
      ['entropy', fmtNum(learner.entropy, 3)],
      ['policy loss', fmtNum(learner.policyLoss, 4)],
      ['value loss', fmtNum(learner.valueLoss, 4)],
      ['staleness', fmtNum(learner.staleness, 2)],
      ['update', fmtMs(learner.updateMeanMs)]
    ]);
  }

  function renderTraining(training) {
    if (charts.loss) {
      for (const t of training) {
        appendCurve(datasetFor(charts.loss, t.stage, seriesColor('train/' + t.stage)), t.steps, t.loss);
      }
      charts.loss.update('none');
    }
    facts('training', training.length
      ? training.map((t) => [t.stage, 'step ' + fmtInt(t.steps) + ' · loss ' + fmtNum(t.loss, 4)])
      : [['training', 'none in this phase']]);
  }

  function renderModels(models) {
    const body = $('models');
    body.replaceChildren();
    if (!models.length) {
      const row = el('tr');
      const cell = el('td', 'empty', 'no model actors');
      cell.colSpan = 6;
      row.append(cell);
      body.append(row);
      return;
    }
    for (const m of models) {
      const row = el('tr');
      row.append(
        el('td', 'model-name', m.model),
        el('td', 'num', fmtInt(m.batches)),
        el('td', 'num', fmtNum(m.meanBatchSize, 1)),
        el('td', 'num', fmtInt(m.queueLength)),
        el('td', 'num', fmtMs(m.queueWaitMeanMs)),
        el('td', 'num', fmtMs(m.forwardMeanMs)));
      body.append(row);
    }
  }

  function renderMemory(memory) {
    const m = memory || {};
    const used = m.heapUsedBytes;
    const max = m.heapMaxBytes;
    setText('heap', fmtBytes(used) + ' / ' + fmtBytes(max));
    $('heap-bar').style.width = isNum(used) && isNum(max) && max > 0 ? (clamp01(used / max) * 100).toFixed(1) + '%' : '0%';
    setText('rss', fmtBytes(m.residentBytes) + ' resident (heap + native)');
  }

  // ---------------------------------------------------------------- sample feed

  const shownSeqs = new Set();
  let maxSeq = -Infinity;

  function renderSample(s) {
    const kind = String(s.kind || 'sample');
    const card = el('article', 'sample kind-' + kind.replace(/[^a-z0-9-]/gi, ''));
    card.dataset.seq = String(s.seq);
    const head = el('header');
    head.append(el('span', 'badge', kind), el('span', 'seq', '#' + s.seq), el('time', '', fmtClock(s.timeMs)));
    const dl = el('dl', 'fields');
    const field = (name, value, cls) => {
      dl.append(el('dt', '', name), el('dd', cls || '', value === undefined || value === null ? '—' : value));
    };
    if (kind === 'sl') {
      field('prompt', s.prompt);
      field('response', s.response);
      field('critique', s.critique);
      field('revision', s.revision, 'revision');
    } else if (kind === 'label') {
      const pA = s.pA;
      const choice = isNum(pA) ? (pA >= 0.5 ? 'A' : 'B') : null;
      field('prompt', s.prompt);
      field('A', s.a, choice === 'A' ? 'chosen' : '');
      field('B', s.b, choice === 'B' ? 'chosen' : '');
      field('choice', choice ? choice + ' ' + (choice === 'A' ? pA : 1 - pA).toFixed(2) : '—', 'choice');
      if (s.principle) field('principle', s.principle);
    } else if (kind === 'rl') {
      field('prompt', s.prompt);
      field('response', s.response);
      field('score', fmtNum(s.score, 3), 'score');
      field('version', isNum(s.policyVersion) ? 'v' + s.policyVersion : '—');
    } else {
      for (const [k, v] of Object.entries(s)) {
        if (k !== 'seq' && k !== 'kind' && k !== 'timeMs') field(k, typeof v === 'string' ? v : JSON.stringify(v));
      }
    }
    card.append(head, dl);
    return card;
  }

  function addSamples(samples, firstOfConnection) {
    const feed = $('feed');
    const incoming = samples.filter((s) => s && isNum(s.seq)).sort((x, y) => x.seq - y.seq);
    // A backlog that ends before what we already showed comes from a restarted node: start the feed over.
    if (firstOfConnection && incoming.length && incoming[incoming.length - 1].seq < maxSeq) {
      feed.replaceChildren();
      shownSeqs.clear();
      maxSeq = -Infinity;
    }
    for (const s of incoming) {
      if (shownSeqs.has(s.seq)) continue;
      if (!shownSeqs.size) feed.replaceChildren();
      shownSeqs.add(s.seq);
      maxSeq = Math.max(maxSeq, s.seq);
      feed.prepend(renderSample(s));
    }
    while (feed.children.length > MAX_SAMPLES) feed.lastElementChild.remove();
    const shown = feed.querySelectorAll('.sample').length;
    setText('feed-count', shown + ' shown');
    return shown;
  }

  // ---------------------------------------------------------------- connection

  let source = null;
  let retryMs = 1000;
  let firstOfConnection = true;

  function setConnection(state, text) {
    $('conn-dot').className = 'dot ' + state;
    setText('conn-text', text);
  }

  function onSnapshot(event) {
    let snapshot;
    try {
      snapshot = JSON.parse(event.data);
    } catch (e) {
      console.error('cai dashboard: /events sent data that is not JSON:', String(event.data).slice(0, 200));
      return;
    }
    const first = firstOfConnection;
    firstOfConnection = false;
    render(snapshot, first);
  }

  /** Draws the curves so far (sent with a connection's first snapshot) before the live points. */
  function renderHistory(history) {
    if (!history) return;
    if (charts.ppo) {
      for (const p of history.learner || []) {
        appendCurve(charts.ppo.data.datasets[0], p.policyVersion, p.score);
        appendCurve(charts.ppo.data.datasets[1], p.policyVersion, p.kl);
      }
      charts.ppo.update('none');
    }
    if (charts.loss) {
      for (const p of history.training || []) {
        appendCurve(datasetFor(charts.loss, p.stage, seriesColor('train/' + p.stage)), p.step, p.loss);
      }
      charts.loss.update('none');
    }
  }

  function render(snapshot, first) {
    const stages = snapshot.stages || [];
    renderHistory(snapshot.history);
    renderHeadline(snapshot);
    renderPipeline(stages);
    updateRateChart(charts.throughput, snapshot, 'elementsPerSec', () => true);
    updateRateChart(charts.tokens, snapshot, 'tokensPerSec', (s) => isNum(s.tokens) && s.tokens > 0);
    renderLearner(snapshot.learner);
    renderTraining(snapshot.training || []);
    renderModels(snapshot.models || []);
    renderMemory(snapshot.memory);
    dashboard.samplesShown = addSamples(snapshot.samples || [], first);
    dashboard.chartPoints = pointCount(charts.throughput);
    dashboard.last = snapshot;
    dashboard.events++;
  }

  function connect() {
    source = new EventSource('/events');
    source.onopen = () => {
      retryMs = 1000;
      firstOfConnection = true;
      setConnection('live', 'live');
    };
    source.addEventListener('snapshot', onSnapshot);
    source.onmessage = onSnapshot; // events sent without a name
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (HTTP error, wrong content type): retry ourselves with a growing delay.
        source.close();
        setConnection('down', 'disconnected · retry in ' + Math.round(retryMs / 1000) + ' s');
        setTimeout(connect, retryMs);
        retryMs = Math.min(MAX_RETRY_MS, retryMs * 2);
      } else {
        setConnection('connecting', 'reconnecting…');
      }
    };
  }

  renderMemory(null);
  renderLearner(null);
  connect();
})();
