'use strict';
const assert = require('node:assert/strict');
const tf = require('@tensorflow/tfjs-core');
const nn = require('../dist/nn');

describe('nn.useBestBackend', () => {
  let previous;
  before(() => {
    previous = tf.getBackend();
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it('picks tfjs-node when it loads, else the native emo-native backend', async () => {
    let hasTfjsNode = true;
    try {
      require('@tensorflow/tfjs-node');
    } catch {
      hasTfjsNode = false;
    }
    const name = await nn.useBestBackend();
    assert.equal(name, hasTfjsNode ? 'tensorflow' : 'emo-native');
    assert.equal(tf.getBackend(), name);
  });
});
