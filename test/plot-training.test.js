'use strict';
// Tests for the training plots: the confusion-matrix and training-curve PNGs.
// PNGs are read back with the minimal decoder in helpers/png.js.
const assert = require('node:assert/strict');
const plot = require('../dist/plot/index.js');

const { decodePng } = require('./helpers/png');

const lutAt = (t) => [...plot.COLORMAP_LUT[plot.colormapIndex(t)]];

/** A pixel near the top-left corner of cell (r, c), clear of the centred text. */
function cellPixel(png, layout, r, c) {
  return png.pixel(layout.grid.x + c * layout.cellSize + 4, layout.grid.y + r * layout.cellSize + 4);
}

describe('plot: renderConfusionPng', () => {
  const labels = ['neutral', 'happy', 'sad'];
  const matrix = [
    [6, 3, 1],
    [0, 8, 2],
    [5, 0, 15],
  ];

  it('decodes with the size of its layout', () => {
    const png = decodePng(plot.renderConfusionPng(matrix, labels));
    const layout = plot.layoutConfusion(matrix, labels);
    assert.equal(png.width, layout.width);
    assert.equal(png.height, layout.height);
    assert.ok(png.width > 3 * layout.cellSize && png.height > 3 * layout.cellSize);
  });

  it('colours each cell by its row-normalised value', () => {
    const png = decodePng(plot.renderConfusionPng(matrix, labels, { title: 'recall' }));
    const layout = plot.layoutConfusion(matrix, labels, { title: 'recall' });
    for (let r = 0; r < 3; r++) {
      const total = matrix[r].reduce((a, b) => a + b, 0);
      for (let c = 0; c < 3; c++) assert.deepEqual(cellPixel(png, layout, r, c), lutAt(matrix[r][c] / total), `cell ${r},${c}`);
    }
  });

  it('colours by count / largest count when normalize is false', () => {
    const png = decodePng(plot.renderConfusionPng(matrix, labels, { normalize: false }));
    const layout = plot.layoutConfusion(matrix, labels, { normalize: false });
    assert.deepEqual(cellPixel(png, layout, 2, 2), lutAt(1));
    assert.deepEqual(cellPixel(png, layout, 0, 0), lutAt(6 / 15));
    assert.deepEqual(cellPixel(png, layout, 1, 0), lutAt(0));
  });

  it('draws the diagonal of an identity confusion in the top colour', () => {
    const eye = [[4, 0, 0, 0], [0, 9, 0, 0], [0, 0, 1, 0], [0, 0, 0, 2]];
    const names = ['a', 'b', 'c', 'd'];
    const png = decodePng(plot.renderConfusionPng(eye, names));
    const layout = plot.layoutConfusion(eye, names);
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(cellPixel(png, layout, i, i), lutAt(1));
      assert.deepEqual(cellPixel(png, layout, i, (i + 1) % 4), lutAt(0));
    }
  });

  it('draws a row with no examples grey', () => {
    const m = [[3, 1], [0, 0]];
    const png = decodePng(plot.renderConfusionPng(m, ['x', 'y']));
    const layout = plot.layoutConfusion(m, ['x', 'y']);
    assert.deepEqual(cellPixel(png, layout, 1, 0), [...plot.CONFUSION_EMPTY_COLOR]);
    assert.deepEqual(cellPixel(png, layout, 1, 1), [...plot.CONFUSION_EMPTY_COLOR]);
    assert.deepEqual(cellPixel(png, layout, 0, 0), lutAt(0.75));
  });

  it('handles a single class and long class names', () => {
    assert.equal(decodePng(plot.renderConfusionPng([[7]], ['only'])).width > 0, true);
    const long = ['a very long class name', 'b', 'c'];
    const png = decodePng(plot.renderConfusionPng(matrix, long));
    assert.equal(png.height, plot.layoutConfusion(matrix, long).height);
  });

  it('rejects bad arguments', () => {
    assert.throws(() => plot.renderConfusionPng([], []), TypeError);
    assert.throws(() => plot.renderConfusionPng('x', ['a']), TypeError);
    assert.throws(() => plot.renderConfusionPng([[1, 2]], ['a']), RangeError);
    assert.throws(() => plot.renderConfusionPng([[1, 2], [3]], ['a', 'b']), RangeError);
    assert.throws(() => plot.renderConfusionPng([[-1]], ['a']), /non-negative count/);
    assert.throws(() => plot.renderConfusionPng([[NaN]], ['a']), RangeError);
    assert.throws(() => plot.renderConfusionPng([['1']], ['a']), TypeError);
    assert.throws(() => plot.renderConfusionPng([[1]], ['a', 'b']), RangeError);
    assert.throws(() => plot.renderConfusionPng([[1]], [1]), TypeError);
    assert.throws(() => plot.renderConfusionPng([[1]], ['a'], { normalise: true }), /Unknown option 'normalise'/);
    assert.throws(() => plot.renderConfusionPng([[1]], ['a'], { normalize: 'yes' }), TypeError);
    assert.throws(() => plot.renderConfusionPng([[1]], ['a'], { title: 3 }), TypeError);
  });
});

describe('plot: renderCurvesPng', () => {
  const history = (n) =>
    Array.from({ length: n }, (_, i) => ({
      epoch: i + 1,
      trainLoss: 2 * Math.exp(-i / 5) + 0.2,
      valLoss: 2.2 * Math.exp(-i / 6) + 0.3,
      trainAccuracy: 1 - 0.8 * Math.exp(-i / 5),
      valAccuracy: 0.9 - 0.7 * Math.exp(-i / 4),
      valMacroF1: 0.85 - 0.7 * Math.exp(-i / 4),
    }));

  const hasColor = (png, color) => {
    for (let y = 0; y < png.height; y++) for (let x = 0; x < png.width; x++) if (png.pixel(x, y).every((v, k) => v === color[k])) return true;
    return false;
  };

  it('renders 20 epochs with all three curve colours', () => {
    const png = decodePng(plot.renderCurvesPng(history(20), { bestEpoch: 12, title: 'run 1' }));
    assert.ok(png.width > 800 && png.height > 300);
    for (const color of Object.values(plot.CURVE_COLORS)) assert.ok(hasColor(png, color), `colour ${color}`);
  });

  it('renders a single epoch, missing validation values and NaN', () => {
    const one = decodePng(plot.renderCurvesPng([{ epoch: 1, trainLoss: 1.3, trainAccuracy: 0.4 }], { bestEpoch: 1 }));
    const twenty = decodePng(plot.renderCurvesPng(history(20)));
    assert.equal(one.width, twenty.width);
    assert.equal(one.height, twenty.height);
    assert.ok(hasColor(one, plot.CURVE_COLORS.train));
    const gappy = history(5).map((e, i) => ({ ...e, valLoss: i === 2 ? NaN : e.valLoss, valAccuracy: undefined, trainLoss: i === 0 ? Infinity : e.trainLoss }));
    assert.ok(decodePng(plot.renderCurvesPng(gappy)).width > 0);
    assert.ok(decodePng(plot.renderCurvesPng([{ epoch: 3, trainLoss: NaN, trainAccuracy: NaN }])).width > 0);
  });

  it('rejects bad arguments', () => {
    assert.throws(() => plot.renderCurvesPng([]), TypeError);
    assert.throws(() => plot.renderCurvesPng('x'), TypeError);
    assert.throws(() => plot.renderCurvesPng([null]), TypeError);
    assert.throws(() => plot.renderCurvesPng([{ epoch: '1', trainLoss: 1, trainAccuracy: 0.5 }]), TypeError);
    assert.throws(() => plot.renderCurvesPng([{ epoch: 1, trainAccuracy: 0.5 }]), /trainLoss/);
    assert.throws(() => plot.renderCurvesPng([{ epoch: 1, trainLoss: 1 }]), /trainAccuracy/);
    assert.throws(() => plot.renderCurvesPng([{ epoch: 1, trainLoss: 1, trainAccuracy: 0.5, valLoss: '2' }]), TypeError);
    assert.throws(() => plot.renderCurvesPng([{ epoch: 2, trainLoss: 1, trainAccuracy: 0.5 }, { epoch: 2, trainLoss: 1, trainAccuracy: 0.5 }]), RangeError);
    assert.throws(() => plot.renderCurvesPng(history(2), { bestEpoch: NaN }), RangeError);
    assert.throws(() => plot.renderCurvesPng(history(2), { best: 1 }), /Unknown option 'best'/);
  });
});
