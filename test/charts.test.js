'use strict';
// Charts from a library: Vega-Lite specs rendered to SVG by Vega and to PNG by resvg. The tests
// compare structure — the SVG's marks, their labels and texts — not pixels.
const assert = require('node:assert/strict');
const charts = require('../dist/plot/charts');

/** The marks of one kind in an SVG: each mark's aria-label (what it shows) and its fill. */
function marks(svg, kind) {
  const group = new RegExp(`<g class="mark-${kind} role-mark[^"]*"[^>]*>([\\s\\S]*?)</g>`, 'g');
  const out = [];
  for (const m of svg.matchAll(group)) {
    for (const el of m[1].matchAll(/<(path|text|line)\b([^>]*)>/g)) {
      const attr = (name) => (new RegExp(`${name}="([^"]*)"`).exec(el[2]) || [])[1];
      out.push({ label: attr('aria-label'), fill: attr('fill') });
    }
  }
  return out;
}
const texts = (svg) => [...svg.matchAll(/<(?:text|tspan)\b[^>]*>([^<]+)</g)].map((m) => m[1]);

describe('charts: confusion matrix', function () {
  this.timeout(60_000);
  const labels = ['neutral', 'calm', 'happy'];
  const confusion = [
    [5, 1, 0],
    [0, 0, 0],
    [2, 3, 4],
  ];

  it('draws a cell per (true, predicted) pair with its count and recall, a row without examples grey', async () => {
    const svg = await charts.renderSvg(charts.confusionChart(confusion, labels, { title: 'fold 6' }));
    const cells = marks(svg, 'rect');
    assert.equal(cells.length, 9);
    // Each cell says where it is and what share of its row it holds.
    assert.ok(cells.some((c) => c.label === 'predicted: neutral; true: neutral; recall: 83%'), JSON.stringify(cells));
    assert.ok(cells.some((c) => c.label === 'predicted: calm; true: happy; recall: 33%'));
    assert.equal(cells.filter((c) => c.fill === '#969696').length, 3, 'the calm row, which has no examples');
    const cellTexts = marks(svg, 'text').map((t) => t.label);
    assert.ok(cellTexts.includes('predicted: neutral; true: neutral; text: 5&#xA;83%'), JSON.stringify(cellTexts));
    assert.ok(cellTexts.includes('predicted: happy; true: happy; text: 4&#xA;44%'));
    assert.equal(cellTexts.filter((t) => t.endsWith('text: –')).length, 3);
    const words = texts(svg);
    for (const w of ['fold 6', 'predicted', 'true', 'recall', ...labels]) assert.ok(words.includes(w), w);
  });

  it('normalize false: shares of the largest count, percentages of all examples', async () => {
    const svg = await charts.renderSvg(charts.confusionChart(confusion, labels, { normalize: false }));
    const cellTexts = marks(svg, 'text').map((t) => t.label);
    assert.ok(cellTexts.includes('predicted: neutral; true: neutral; text: 5&#xA;33%'), JSON.stringify(cellTexts)); // 5 of 15
    assert.ok(cellTexts.includes('predicted: neutral; true: calm; text: 0&#xA;0%'));
    assert.ok(texts(svg).includes('confusion matrix'));
  });

  it('rejects what is not a k × k matrix of counts', () => {
    assert.throws(() => charts.confusionChart([[1, 2]], labels), RangeError);
    assert.throws(() => charts.confusionChart([[1, 2, 3], [1, 2, 3], [1, -2, 3]], labels), RangeError);
    assert.throws(() => charts.confusionChart([[0.5]], ['a']), RangeError);
    assert.throws(() => charts.confusionChart(confusion, []), TypeError);
    assert.throws(() => charts.confusionChart(confusion, labels, { colour: 'red' }), TypeError);
  });
});

describe('charts: training curves', function () {
  this.timeout(60_000);
  const history = Array.from({ length: 12 }, (_, i) => ({ epoch: i + 1, trainLoss: 2 - 0.1 * i, valLoss: 2.1 - 0.08 * i, trainAccuracy: 0.2 + 0.05 * i, valAccuracy: 0.15 + 0.04 * i, valMacroF1: 0.1 + 0.04 * i }));

  it('draws loss (train, validation) and accuracy (train, validation, macro-F1) per epoch, the best epoch marked', async () => {
    const svg = await charts.renderSvg(charts.curvesChart(history, { title: 'fold 6', bestEpoch: 10 }));
    const lines = marks(svg, 'line');
    assert.equal(lines.length, 5, JSON.stringify(lines));
    const rules = marks(svg, 'rule');
    assert.equal(rules.length, 2, 'one rule per panel');
    assert.ok(rules.every((r) => /epoch: 10/.test(r.label)));
    const points = marks(svg, 'symbol');
    assert.ok(points.some((p) => p.label === 'epoch: 10; accuracy: 46%; series: validation macro-F1'), JSON.stringify(points.filter((p) => /macro/.test(p.label)).slice(8, 10)));
    assert.ok(points.some((p) => p.label === 'epoch: 10; loss: 1.38; series: validation'));
    const words = texts(svg);
    for (const w of ['fold 6 (best epoch 10)', 'loss', 'accuracy', 'epoch', 'train', 'validation', 'validation macro-F1']) assert.ok(words.includes(w), w);
  });

  it('leaves gaps for missing values and draws a single epoch', async () => {
    const svg = await charts.renderSvg(charts.curvesChart([{ epoch: 1, trainLoss: 1.9, trainAccuracy: 0.3 }, { epoch: 2, trainLoss: 1.7, valLoss: NaN, trainAccuracy: 0.4, valAccuracy: 0.35 }]));
    assert.ok(texts(svg).includes('training curves'));
    const one = await charts.renderSvg(charts.curvesChart([{ epoch: 1, trainLoss: 2, trainAccuracy: 0.2 }], { bestEpoch: 1 }));
    assert.ok(marks(one, 'symbol').length >= 2);
    assert.throws(() => charts.curvesChart([]), RangeError);
    assert.throws(() => charts.curvesChart([{ loss: 1 }]), TypeError);
  });

  it('renders a PNG of the SVG at 1.5 times its size', async () => {
    const spec = charts.curvesChart(history);
    const svg = await charts.renderSvg(spec);
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)[1]);
    const png = await charts.renderPng(spec);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.readUInt32BE(16), Math.round(width * 1.5));
  });
});

describe("charts: the page's probabilities, attention and timeline", function () {
  this.timeout(60_000);
  const labels = ['neutral', 'calm', 'happy'];

  it('probabilities: a bar per label in model order, in its colour, with its percentage', async () => {
    const svg = await charts.renderSvg(charts.probabilitiesChart(labels, { calm: 0.25, happy: 0.75 }));
    const bars = marks(svg, 'rect');
    assert.deepEqual(bars.map((b) => b.label), ['probability: 0%; label: neutral', 'probability: 25%; label: calm', 'probability: 75%; label: happy']);
    assert.deepEqual(bars.map((b) => b.fill), ['#8c8c8c', '#4d9de0', '#f2b134']);
    const words = texts(svg);
    for (const w of ['0.0%', '25.0%', '75.0%', 'neutral', 'calm', 'happy']) assert.ok(words.includes(w), w);
    assert.throws(() => charts.probabilitiesChart(labels, { calm: 1.5 }), { name: 'RangeError', message: /probabilities\.calm/ });
    assert.throws(() => charts.probabilitiesChart([]), TypeError);
  });

  it('attention: a bar per chunk, numbered from 1, with its weight', async () => {
    const svg = await charts.renderSvg(charts.attentionChart([0.25, 0.75]));
    assert.deepEqual(marks(svg, 'rect').map((b) => b.label), ['chunk: 1; weight: 0.25', 'chunk: 2; weight: 0.75']);
    assert.ok(texts(svg).includes('0.75'));
    assert.throws(() => charts.attentionChart([NaN]), RangeError);
  });

  it("timeline: each window's probabilities stacked in label order between its start and end, with a legend", async () => {
    const columns = [
      { start: 1, end: 1.5, probabilities: { neutral: 0.5, calm: 0.5 } },
      { start: 1.5, end: 2, probabilities: { happy: 1 } },
    ];
    const svg = await charts.renderSvg(charts.timelineChart(labels, columns, { from: 0, to: 10 }));
    const rects = marks(svg, 'rect').map((r) => r.label);
    assert.equal(rects.length, 6);
    // Stacked from 0: neutral 0–0.5, calm 0.5–1, happy 1–1 in the first column; happy 0–1 in the second.
    assert.ok(rects.includes('time (s): 1; bottom: 0%; end: 1.5; top: 0.5; label: neutral'), rects.join('\n'));
    assert.ok(rects.includes('time (s): 1; bottom: 50%; end: 1.5; top: 1; label: calm'));
    assert.ok(rects.includes('time (s): 1.5; bottom: 0%; end: 2; top: 1; label: happy'));
    assert.ok(svg.includes("values from 0 to 10"), 'the time axis from `from` to `to`');
    assert.ok(/Symbol legend for fill color with 3 values: neutral, calm, happy/.test(svg));
    assert.throws(() => charts.timelineChart(labels, [], { from: 5, to: 5 }), RangeError);
    assert.throws(() => charts.timelineChart(labels, [{ start: 'a', end: 1, probabilities: {} }]), TypeError);
    assert.throws(() => charts.timelineChart(labels, [], { width: 100, height: 3 }), { name: 'TypeError', message: /Unknown option 'height'/ });
  });

  it('labels of other models take a categorical palette; pageCharts compiles the three to Vega with empty data sets', async () => {
    assert.deepEqual(charts.labelColours(['calm', 'x', 'y']), ['#4d9de0', '#f58518', '#e45756']);
    const page = await charts.pageCharts(labels);
    assert.deepEqual(page.colours, { neutral: '#8c8c8c', calm: '#4d9de0', happy: '#f2b134' });
    for (const [name, dataset] of [['probabilities', 'probabilities'], ['attention', 'attention'], ['timeline', 'timeline']]) {
      assert.match(page[name].$schema, /vega\/v5/, `${name} is a Vega (not Vega-Lite) spec`);
      const data = page[name].data.find((d) => d.name === dataset);
      assert.ok(data, `${name} has the data set ${dataset}`);
      if (name !== 'probabilities') assert.deepEqual(data.values, []);
    }
    assert.deepEqual(page.timeline.signals.filter((s) => s.name === 'from' || s.name === 'to').map((s) => [s.name, s.value]), [['from', 0], ['to', 30]]);
  });
});
