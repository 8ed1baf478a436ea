'use strict';
const assert = require('node:assert/strict');
const { classificationMetrics } = require('../dist/train/metrics');

describe('classificationMetrics', () => {
  const labels = ['a', 'b', 'c'];

  it('computes accuracy, UAR, macro-F1, per-class scores and the confusion matrix (worked by hand)', () => {
    // truth:     a a a a b b c c c c
    // predicted: a a b c b a c c c b
    const m = classificationMetrics([0, 0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 0, 1, 2, 1, 0, 2, 2, 2, 1], labels);
    assert.deepEqual(m.confusion, [[2, 1, 1], [1, 1, 0], [0, 1, 3]]);
    assert.equal(m.accuracy, 6 / 10);
    // recalls: a 2/4, b 1/2, c 3/4; precisions: a 2/3, b 1/3, c 3/4
    assert.ok(Math.abs(m.uar - (0.5 + 0.5 + 0.75) / 3) < 1e-12);
    const f1 = (p, r) => (2 * p * r) / (p + r);
    assert.ok(Math.abs(m.macroF1 - (f1(2 / 3, 0.5) + f1(1 / 3, 0.5) + f1(0.75, 0.75)) / 3) < 1e-12);
    assert.deepEqual(m.perClass.map((c) => c.support), [4, 2, 4]);
    assert.ok(Math.abs(m.perClass[1].precision - 1 / 3) < 1e-12);
    assert.deepEqual(m.missingClasses, []);
  });

  it('states classes missing from a split instead of hiding them', () => {
    const m = classificationMetrics([0, 0, 1], [0, 2, 1], labels);
    assert.deepEqual(m.missingClasses, ['c']);
    assert.ok(Number.isNaN(m.perClass[2].recall));
    assert.equal(m.uar, 0.75, 'UAR over the classes present');
    assert.equal(m.perClass[2].f1, 0, 'predicted but never true: F1 0 counts in macro-F1');
  });

  it('rejects mismatched or out-of-range inputs', () => {
    assert.throws(() => classificationMetrics([0, 1], [0], labels), RangeError);
    assert.throws(() => classificationMetrics([3], [0], labels), TypeError);
  });
});
