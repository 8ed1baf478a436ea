'use strict';
// The mel-spectrogram picture of `emo features --png`: a Vega-Lite chart whose cells are one PNG
// raster per chunk. Structure is checked in the rendered SVG (panels, titles, axes, legend); the
// cells are read back from each raster with the test's own PNG reader and compared with Vega's
// `magma` scheme sampled here, so the code under test never checks itself.
const assert = require('node:assert/strict');
const vega = require('vega');
const plot = require('../dist/plot/index.js');
const melScale = require('../dist/features/mel-scale.js');
const { decodePng } = require('./helpers/png');

const CHUNK_OPTS = { sampleRate: 48000, hopLength: 256, chunkStride: 64, fMin: 0, fMax: 24000, title: 'test' };

/** data[(c*M + m)*T + t] = value(c, m, t) */
function fill([C, M, T], value) {
  const data = new Float32Array(C * M * T);
  for (let c = 0; c < C; c++) for (let m = 0; m < M; m++) for (let t = 0; t < T; t++) data[(c * M + m) * T + t] = value(c, m, t);
  return data;
}

/** The scheme's colour at level round(255 · t), t clamped to [0, 1], as Vega gives it. */
function magma(t) {
  const colour = vega.scheme('magma')(Math.round(255 * Math.min(1, Math.max(0, t))) / 255);
  return /^rgb\((\d+), (\d+), (\d+)\)$/.exec(colour).slice(1).map(Number);
}

/** Each chunk's raster from the spec's image marks, decoded; cell (m, t) of a panel, band 0 at the bottom. */
function rasters(spec) {
  return spec.hconcat.map((panel) => {
    const url = panel.layer[0].encoding.url.value;
    assert.match(url, /^data:image\/png;base64,/);
    const png = decodePng(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
    return { ...png, cell: (m, t, mels, [sx, sy]) => png.pixel(t * sx + (sx >> 1), (mels - 1 - m) * sy + (sy >> 1)) };
  });
}
const texts = (svg) => [...svg.matchAll(/<(?:text|tspan)\b[^>]*>([^<]+)</g)].map((m) => m[1]);

describe('plot: mel scale', () => {
  it('uses the HTK formula and round-trips', () => {
    assert.ok(Math.abs(melScale.hzToMel(700) - 2595 * Math.log10(2)) < 1e-9);
    assert.ok(Math.abs(melScale.melToHz(melScale.hzToMel(1234.5)) - 1234.5) < 1e-6);
  });

  it('places band centres at the inner nMels of nMels + 2 equally spaced mel points', () => {
    const centres = melScale.melBandCentres(4, 0, 8000);
    const step = melScale.hzToMel(8000) / 5;
    centres.forEach((f, m) => assert.ok(Math.abs(melScale.hzToMel(f) - (m + 1) * step) < 1e-9));
  });
});

describe('plot: melChunksChart', function () {
  this.timeout(60_000);

  it('draws a [7, 128, 128] gradient: a panel per chunk, each cell in the scheme colour of its value', async () => {
    const shape = [7, 128, 128];
    const [C, M, T] = shape;
    // A different value per chunk and band, so both panel order and band orientation are checked.
    const value = (c, m) => -80 + c * 10 + m / 16;
    const spec = await plot.melChunksChart(fill(shape, value), shape, CHUNK_OPTS);
    const [lo, hi] = [value(0, 0), value(C - 1, M - 1)];
    const panels = rasters(spec);
    assert.equal(panels.length, C);
    const scale = [panels[0].width / T, panels[0].height / M];
    assert.ok(Number.isInteger(scale[0]) && Number.isInteger(scale[1]), `integer cell size ${scale}`);
    assert.ok(C * panels[0].width >= 800 && C * panels[0].width <= 1150, `data area ${C * panels[0].width} px wide`);
    panels.forEach((png, c) => {
      for (const m of [0, 64, 127]) for (const t of [0, 64, 127]) assert.deepEqual(png.cell(m, t, M, scale), magma((value(c, m) - lo) / (hi - lo)), `chunk ${c}, band ${m}, frame ${t}`);
    });

    const svg = await plot.renderSvg(spec);
    const words = texts(svg);
    assert.equal((svg.match(/<image\b/g) || []).length, C, 'one raster per chunk');
    assert.ok(words.includes('test'), 'the title');
    assert.ok(words.some((w) => w.startsWith('7 chunks × 128 mel bands × 128 frames, stride 64 frames (50% overlap), hop 256 at 48000 Hz, mel 0–24000 Hz')), 'the subtitle');
    const seconds = 256 / 48000;
    for (let c = 0; c < C; c++) {
      assert.ok(words.includes(`chunk ${c + 1}`));
      assert.ok(words.includes(`${(c * 64 * seconds).toFixed(2)}–${((c * 64 + 128) * seconds).toFixed(2)} s`), `time span of chunk ${c + 1}`);
    }
    for (const label of ['1k', '5k', '20k', 'frequency (Hz, mel scale)', 'time (s)', 'dB']) assert.ok(words.includes(label), `axis text ${label}`);
  });

  it('places the frequency ticks at their mel positions, the raster spanning band 0 to band M − 1', async () => {
    const shape = [1, 40, 10];
    const spec = await plot.melChunksChart(new Float32Array(400), shape, { ...CHUNK_OPTS, fMin: 100, fMax: 8000 });
    const y = spec.hconcat[0].layer[1].encoding.y;
    const step = (melScale.hzToMel(8000) - melScale.hzToMel(100)) / 41;
    // The band centres (m + 1) · step above fMin's mel, each row half a step either side.
    assert.ok(Math.abs(y.scale.domain[0] - (melScale.hzToMel(100) + step / 2)) < 1e-9);
    assert.ok(Math.abs(y.scale.domain[1] - (melScale.hzToMel(8000) - step / 2)) < 1e-9);
    const hz = y.axis.values.map((mel) => Math.round(melScale.melToHz(mel)));
    assert.ok(hz.includes(1000) && hz.includes(5000), `ticks ${hz}`);
    assert.ok(hz.every((f) => f > 100 && f < 8000));
    const svg = await plot.renderSvg(spec);
    for (const label of ['1k', '5k']) assert.ok(texts(svg).includes(label));
  });

  it('honours dbRange, clamping values outside it to its end colours', async () => {
    const shape = [3, 64, 100];
    const opts = { ...CHUNK_OPTS, chunkStride: 50, dbRange: [-60, 0], pixelScale: [2, 3] };
    const data = fill(shape, (c, m, t) => (t < 50 ? -100 : -30 + c * 40)); // -30, 10, 50: the last two above the range
    const panels = rasters(await plot.melChunksChart(data, shape, opts));
    const at = (c, t) => panels[c].cell(32, t, 64, [2, 3]);
    assert.equal(panels[0].width, 200);
    assert.equal(panels[0].height, 192);
    assert.deepEqual(at(0, 10), magma(0), 'below the range: dark end');
    assert.deepEqual(at(0, 80), magma(0.5));
    assert.deepEqual(at(1, 80), magma(1), 'above the range: light end');
    assert.deepEqual(at(2, 99), magma(1));
  });

  it('draws constant data in the middle colour', async () => {
    const shape = [2, 8, 5];
    const panels = rasters(await plot.melChunksChart(new Float32Array(80).fill(-42), shape, CHUNK_OPTS));
    for (const png of panels) assert.deepEqual(png.pixel(0, 0), magma(0.5));
  });

  it('ignores NaN and infinities when finding the range, and paints NaN grey (and says so)', async () => {
    const shape = [1, 4, 4];
    const data = fill(shape, (c, m, t) => m * 4 + t);
    data[0] = NaN;
    data[1] = -Infinity;
    data[15] = Infinity;
    const spec = await plot.melChunksChart(data, shape, { ...CHUNK_OPTS, pixelScale: [1, 1] });
    const [png] = rasters(spec);
    const cell = (m, t) => png.cell(m, t, 4, [1, 1]);
    const nan = cell(0, 0);
    assert.ok(nan[0] === nan[1] && nan[1] === nan[2], `grey ${nan}`);
    assert.deepEqual(cell(0, 1), magma(0));
    assert.deepEqual(cell(0, 2), magma(0)); // the finite range is [2, 14]
    assert.deepEqual(cell(3, 3), magma(1));
    assert.deepEqual(cell(2, 0), magma((8 - 2) / 12));
    assert.match(spec.title.subtitle, /grey = NaN/);
  });

  it('renders to a PNG with the smallest input', async () => {
    const png = await plot.renderMelChunksPng(Float32Array.of(1), [1, 1, 1], CHUNK_OPTS);
    assert.equal(png.readUInt32BE(0), 0x89504e47);
    assert.ok(png.readUInt32BE(16) > 0 && png.readUInt32BE(20) > 0);
  });

  it('rejects invalid arguments', async () => {
    const shape = [2, 4, 5];
    const data = new Float32Array(40);
    const bad = (override) => plot.melChunksChart(data, shape, { ...CHUNK_OPTS, ...override });
    await assert.rejects(plot.melChunksChart([0], [1, 1, 1], CHUNK_OPTS), { name: 'TypeError', message: /Float32Array for data/ });
    await assert.rejects(plot.melChunksChart(data, [2, 4, 6], CHUNK_OPTS), { name: 'RangeError', message: /data\.length/ });
    await assert.rejects(plot.melChunksChart(data, [2, 20], CHUNK_OPTS), RangeError);
    await assert.rejects(plot.melChunksChart(data, [2, 0, 5], CHUNK_OPTS), { name: 'RangeError', message: /positive integer for shape\[1\]/ });
    await assert.rejects(plot.melChunksChart(data, 'shape', CHUNK_OPTS), TypeError);
    await assert.rejects(plot.melChunksChart(data, shape), TypeError);
    await assert.rejects(bad({ sampleRate: 0 }), { name: 'RangeError', message: /positive number for sampleRate but received 0/ });
    await assert.rejects(bad({ hopLength: 2.5 }), RangeError);
    await assert.rejects(bad({ chunkStride: '64' }), TypeError);
    await assert.rejects(bad({ fMin: -1 }), RangeError);
    await assert.rejects(bad({ fMax: 0, fMin: 0 }), { name: 'RangeError', message: /fMax/ });
    await assert.rejects(bad({ dbRange: [0, 0] }), RangeError);
    await assert.rejects(bad({ dbRange: [0, NaN] }), RangeError);
    await assert.rejects(bad({ dbRange: -80 }), TypeError);
    await assert.rejects(bad({ title: 7 }), TypeError);
    await assert.rejects(bad({ pixelScale: [0, 1] }), RangeError);
    await assert.rejects(bad({ pixelScale: [1, 17] }), RangeError);
    await assert.rejects(bad({ dbrange: [-80, 0] }), { name: 'TypeError', message: /Unknown option 'dbrange'/ });
  });
});
