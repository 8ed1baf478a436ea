'use strict';
// Small ONNX models and test audio for the inference tests.
const tf = require('@tensorflow/tfjs-core');
const nn = require('../../dist/nn');
const { prng } = require('./wav');

/**
 * The reference network with random weights and a sharpened output layer, exported to ONNX
 * bytes: an untrained network's probabilities are all near 1/8, this one's label depends
 * clearly on the audio. Needs a tfjs backend set (the tests use 'emo-native').
 */
async function sharpenedOnnxModel(seed, normalisation = { mean: Array(128).fill(-60), std: Array(128).fill(12) }) {
  const net = nn.createModel({ seed });
  const out = net.getLayer('output');
  const [kernel, bias] = out.getWeights();
  const sharper = tf.mul(kernel, 25);
  out.setWeights([sharper, bias]);
  sharper.dispose();
  const bytes = await nn.exportOnnx(net, normalisation);
  net.dispose();
  return bytes;
}

/**
 * Voice-like test audio whose content lies below 7 kHz (so versions at 16 kHz and 48 kHz are the
 * same sound): a harmonic tone with a pitch and a loudness rhythm of its own per seed.
 */
function voice(seconds, sampleRate, seed) {
  const rand = prng(seed);
  const f0 = 90 + 200 * rand();
  const rate = 2 + 4 * rand();
  const x = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < x.length; i++) {
    const t = i / sampleRate;
    let v = 0;
    for (let h = 1; h * f0 < 7000; h++) v += Math.sin(2 * Math.PI * h * f0 * t + h) / h;
    x[i] = 0.15 * (0.3 + Math.abs(Math.sin(Math.PI * rate * t))) * v;
  }
  return x;
}

/**
 * A statistics network (`network: 'statistics'`) trained for per-speaker standardisation of its
 * statistics (`adapt: 'speaker-statistics'`), with a training average spread like real statistics'
 * and a sharpened output layer, exported to ONNX bytes. Needs a tfjs backend set.
 */
async function statisticsOnnxModel(seed, normalisation) {
  const net = nn.createModel({ network: 'statistics', seed });
  const bn = net.getLayer('statistics_bn');
  const [gamma, beta, mean, variance] = bn.getWeights();
  const fresh = [tf.onesLike(gamma), tf.zerosLike(beta), tf.randomNormal(mean.shape, 0, 0.5, 'float32', seed), tf.randomUniform(variance.shape, 0.2, 2, 'float32', seed + 1)];
  bn.setWeights(fresh);
  const out = net.getLayer('output');
  const [kernel, bias] = out.getWeights();
  const sharper = tf.mul(kernel, 5);
  out.setWeights([sharper, bias]);
  tf.dispose([...fresh, sharper]);
  const bytes = await nn.exportOnnx(net, { ...normalisation, adapt: 'speaker-statistics' });
  net.dispose();
  return bytes;
}

module.exports = { sharpenedOnnxModel, statisticsOnnxModel, voice };
