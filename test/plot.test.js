'use strict';
// Tests for lib/plot: the PNG encoder, colour map, font, canvas and the
// mel-spectrogram renderers. PNGs are checked with an independent decoder
// written here, so the encoder is not trusted to check itself.
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const plot = require('../dist/plot/index.js');

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// Reference CRC-32: Node's own where available (20.15+), else a bitwise loop
// (deliberately not table-driven, unlike the code under test).
function referenceCrc32(bytes) {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(bytes);
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const { paeth } = require('./helpers/png');

// Undoes the five PNG filter types for 3-byte pixels.
function unfilterRow(type, row, prev) {
  const out = Buffer.alloc(row.length);
  for (let i = 0; i < row.length; i++) {
    const a = i >= 3 ? out[i - 3] : 0;
    const b = prev ? prev[i] : 0;
    const c = prev && i >= 3 ? prev[i - 3] : 0;
    const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][type];
    assert.notEqual(predictor, undefined, `unknown filter type ${type}`);
    out[i] = (row[i] + predictor) & 0xff;
  }
  return out;
}

/** A small PNG reader for 8-bit RGB images; asserts structure and CRCs as it goes. */
function decodePng(buf) {
  assert.ok(Buffer.isBuffer(buf), 'PNG should be a Buffer');
  assert.deepEqual(buf.subarray(0, 8), PNG_SIGNATURE, 'PNG signature');
  const chunks = [];
  for (let p = 8; p < buf.length; ) {
    const length = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    const data = buf.subarray(p + 8, p + 8 + length);
    const crc = buf.readUInt32BE(p + 8 + length);
    assert.equal(crc, referenceCrc32(buf.subarray(p + 4, p + 8 + length)), `CRC of ${type} chunk`);
    chunks.push({ type, data });
    p += 12 + length;
  }
  assert.equal(chunks[0].type, 'IHDR', 'IHDR comes first');
  assert.equal(chunks.at(-1).type, 'IEND', 'IEND comes last');
  assert.equal(chunks.at(-1).data.length, 0, 'IEND is empty');
  const ihdr = chunks[0].data;
  assert.equal(ihdr.length, 13);
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  assert.deepEqual([...ihdr.subarray(8)], [8, 2, 0, 0, 0], 'bit depth 8, RGB, deflate, adaptive filtering, no interlace');
  const raw = zlib.inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  const stride = width * 3;
  assert.equal(raw.length, height * (stride + 1), 'one filter byte plus width × 3 bytes per row');
  const rgb = Buffer.alloc(height * stride);
  let prev = null;
  for (let y = 0; y < height; y++) {
    const start = y * (stride + 1);
    const row = unfilterRow(raw[start], raw.subarray(start + 1, start + 1 + stride), prev);
    assert.equal(row.length, stride, `row ${y} length`);
    row.copy(rgb, y * stride);
    prev = row;
  }
  return { width, height, rgb, pixel: (x, y) => [...rgb.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)] };
}

const luma = ([r, g, b]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;

describe('plot: encodePng', () => {
  it('computes the standard CRC-32 check value', () => {
    assert.equal(plot.crc32(Buffer.from('123456789', 'latin1')), 0xcbf43926);
    assert.equal(plot.crc32(new Uint8Array(0)), 0);
  });

  it('encodes an RGB image that decodes to the same pixels', () => {
    const width = 5;
    const height = 3;
    const rgb = new Uint8Array(width * height * 3).map((_, i) => (i * 37) & 0xff);
    const png = decodePng(plot.encodePng(width, height, rgb));
    assert.equal(png.width, width);
    assert.equal(png.height, height);
    assert.deepEqual([...png.rgb], [...rgb]);
  });

  it('handles a 1×1 image and images whose data spans several IDAT chunks', () => {
    assert.deepEqual(decodePng(plot.encodePng(1, 1, Uint8Array.of(1, 2, 3))).pixel(0, 0), [1, 2, 3]);
    // Random bytes do not compress, so this needs more than one 1 MiB IDAT.
    const rgb = new Uint8Array(700 * 700 * 3);
    for (let i = 0, s = 7; i < rgb.length; i++) rgb[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    const png = decodePng(plot.encodePng(700, 700, rgb));
    assert.ok(png.rgb.equals(rgb));
  });

  it('rejects invalid arguments', () => {
    const ok = new Uint8Array(12);
    assert.throws(() => plot.encodePng(0, 4, ok), { name: 'RangeError', message: /^Expected a positive integer for width but received 0/ });
    assert.throws(() => plot.encodePng(2, 1.5, ok), { name: 'RangeError', message: /for height but received 1.5/ });
    assert.throws(() => plot.encodePng(-1, 4, ok), RangeError);
    assert.throws(() => plot.encodePng('2', 2, ok), { name: 'TypeError', message: /for width but received '2' of type string/ });
    assert.throws(() => plot.encodePng(2, 2, [1, 2, 3]), { name: 'TypeError', message: /a Uint8Array for rgb/ });
    assert.throws(() => plot.encodePng(2, 2, new Uint8Array(11)), { name: 'RangeError', message: /12 bytes/ });
    assert.throws(() => plot.encodePng(2 ** 31, 1, ok), { name: 'RangeError', message: /no greater than 2147483647 for width/ });
  });
});

describe('plot: colormap', () => {
  it('has 256 entries of 8-bit integers, equal to colormap(i / 255)', () => {
    assert.equal(plot.COLORMAP_LUT.length, 256);
    assert.equal(plot.COLORMAP_SIZE, 256);
    plot.COLORMAP_LUT.forEach((entry, i) => {
      assert.equal(entry.length, 3);
      for (const v of entry) assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, `entry ${i}: ${entry}`);
      assert.deepEqual(plot.colormap(i / 255), entry);
    });
  });

  it('is strictly increasing in lightness (Rec. 709 luma) from dark to light', () => {
    const lumas = plot.COLORMAP_LUT.map(luma);
    for (let i = 1; i < lumas.length; i++) assert.ok(lumas[i] > lumas[i - 1], `luma ${lumas[i - 1]} -> ${lumas[i]} at entry ${i}`);
    assert.ok(lumas[0] < 15, `dark end, luma ${lumas[0]}`);
    assert.ok(lumas[255] > 235, `light end, luma ${lumas[255]}`);
  });

  it('is colourful in the middle, not a grey ramp', () => {
    const [r, g, b] = plot.colormap(0.5);
    assert.ok(Math.max(r, g, b) - Math.min(r, g, b) > 60, `colormap(0.5) = ${[r, g, b]}`);
  });

  it('clamps t to [0, 1] and rejects NaN and non-numbers', () => {
    assert.deepEqual(plot.colormap(-3), plot.COLORMAP_LUT[0]);
    assert.deepEqual(plot.colormap(7), plot.COLORMAP_LUT[255]);
    assert.deepEqual(plot.colormap(Infinity), plot.COLORMAP_LUT[255]);
    assert.throws(() => plot.colormap(NaN), RangeError);
    assert.throws(() => plot.colormap('0.5'), TypeError);
    assert.equal(plot.colormapIndex(0.5), 128);
    assert.equal(plot.colormapIndex(NaN), 0);
  });

  it('is frozen', () => {
    assert.ok(Object.isFrozen(plot.COLORMAP_LUT) && Object.isFrozen(plot.COLORMAP_LUT[0]));
  });
});

describe('plot: font and canvas', () => {
  it('has glyphs for digits, letters, space and axis punctuation', () => {
    const needed = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:-()/+%\u00d7';
    for (const ch of needed) assert.ok(plot.hasGlyph(ch), `glyph for ${JSON.stringify(ch)}`);
    assert.ok(!plot.hasGlyph('\u{1F600}'));
  });

  it('measures and draws text', () => {
    assert.equal(plot.textWidth(''), 0);
    assert.equal(plot.textWidth('ab'), 2 * plot.GLYPH_ADVANCE - 1);
    assert.equal(plot.textWidth('ab', 3), 3 * (2 * plot.GLYPH_ADVANCE - 1));
    assert.equal(plot.textWidth('a\nabc'), plot.textWidth('abc'));
    const canvas = new plot.RgbCanvas(20, 12);
    canvas.drawText(1, 1, 'I', [0, 0, 0]);
    // 'I' is a vertical bar in column 2 with serifs; its middle row has exactly one inked pixel.
    const row = Array.from({ length: 20 }, (_, x) => canvas.getPixel(x, 4));
    assert.deepEqual(row.map((p) => (p[0] === 0 ? 1 : 0)).join(''), '00010000000000000000');
    // Unknown characters draw a box rather than nothing.
    const box = new plot.RgbCanvas(8, 10);
    box.drawText(0, 0, '\u{1F600}', [0, 0, 0]);
    assert.deepEqual(box.getPixel(0, 0), [0, 0, 0]);
  });

  it('clips drawing to the canvas', () => {
    const canvas = new plot.RgbCanvas(4, 3, [9, 9, 9]);
    canvas.fillRect(-5, -5, 7, 6, [1, 2, 3]);
    canvas.drawText(-100, 100, 'off canvas', [0, 0, 0]);
    canvas.hline(3, 10, 2, [4, 5, 6]);
    assert.deepEqual(canvas.getPixel(1, 0), [1, 2, 3]);
    assert.deepEqual(canvas.getPixel(2, 0), [9, 9, 9]);
    assert.deepEqual(canvas.getPixel(3, 2), [4, 5, 6]);
    assert.equal(canvas.getPixel(4, 0), undefined);
    const png = decodePng(canvas.toPng());
    assert.deepEqual(png.pixel(3, 2), [4, 5, 6]);
  });

  it('rejects invalid canvas sizes', () => {
    assert.throws(() => new plot.RgbCanvas(0, 3), { name: 'RangeError', message: /positive integer for width but received 0/ });
    assert.throws(() => new plot.RgbCanvas(3, null), TypeError);
  });
});

describe('plot: mel scale', () => {
  it('uses the HTK formula and round-trips', () => {
    assert.ok(Math.abs(plot.hzToMel(700) - 2595 * Math.log10(2)) < 1e-9);
    assert.ok(Math.abs(plot.melToHz(plot.hzToMel(1234.5)) - 1234.5) < 1e-6);
  });

  it('places band centres at the inner nMels of nMels + 2 equally spaced mel points', () => {
    const centres = plot.melBandCentres(4, 0, 8000);
    const step = plot.hzToMel(8000) / 5;
    centres.forEach((f, m) => assert.ok(Math.abs(plot.hzToMel(f) - (m + 1) * step) < 1e-9));
  });
});

const CHUNK_OPTS = { sampleRate: 48000, hopLength: 256, chunkStride: 64, fMin: 0, fMax: 24000, title: 'test' };

/** data[(c*M + m)*T + t] = value(c, m, t) */
function fill([C, M, T], value) {
  const data = new Float32Array(C * M * T);
  for (let c = 0; c < C; c++) for (let m = 0; m < M; m++) for (let t = 0; t < T; t++) data[(c * M + m) * T + t] = value(c, m, t);
  return data;
}

/** Colour the renderer should use for value v in range [lo, hi]. */
const expectedColour = (v, lo, hi) => plot.COLORMAP_LUT[Math.round(((v - lo) / (hi - lo)) * 255)];

/** Pixel centre of cell (m, t) in a panel; low mel bands are at the bottom. */
function cellCentre(layout, panel, M, m, t) {
  return [panel.x + t * layout.scaleX + (layout.scaleX >> 1), panel.y + (M - 1 - m) * layout.scaleY + (layout.scaleY >> 1)];
}

describe('plot: renderMelChunksPng', function () {
  this.timeout(20000);

  it('draws a [7, 128, 128] gradient with the colour map at known pixels', () => {
    const shape = [7, 128, 128];
    const [C, M] = shape;
    // A different value per chunk and band, so both panel order and mel orientation are checked.
    const value = (c, m) => -80 + c * 10 + m / 16;
    const data = fill(shape, value);
    const layout = plot.layoutMelChunks(data, shape, CHUNK_OPTS);
    const png = decodePng(plot.renderMelChunksPng(data, shape, CHUNK_OPTS));
    assert.equal(png.width, layout.width);
    assert.equal(png.height, layout.height);
    assert.ok(png.width >= 900 && png.width <= 1500, `width ${png.width}`);
    assert.equal(layout.panels.length, C);
    const [lo, hi] = layout.dbRange;
    assert.equal(lo, value(0, 0));
    assert.equal(hi, value(C - 1, M - 1));
    layout.panels.forEach((panel, c) => {
      for (const m of [0, 64, 127]) {
        const [x, y] = cellCentre(layout, panel, M, m, 64);
        assert.deepEqual(png.pixel(x, y), [...expectedColour(value(c, m), lo, hi)], `chunk ${c}, band ${m}`);
      }
    });
    // Panels run left to right without overlapping, separated by a background gap and framed in a dark line.
    for (let c = 1; c < C; c++) {
      const prev = layout.panels[c - 1];
      const panel = layout.panels[c];
      assert.ok(panel.x > prev.x + prev.width + 2);
      const midGap = (prev.x + prev.width + panel.x) >> 1;
      assert.deepEqual(png.pixel(midGap, panel.y + 10), [255, 255, 255], 'gap between chunks');
      assert.ok(luma(png.pixel(panel.x - 1, panel.y + 10)) < 80, 'frame at the chunk boundary');
    }
  });

  it('draws a colour bar running from the top of the range down to the bottom', () => {
    const shape = [2, 16, 20];
    const data = fill(shape, (c, m, t) => t);
    const layout = plot.layoutMelChunks(data, shape, CHUNK_OPTS);
    const png = decodePng(plot.renderMelChunksPng(data, shape, CHUNK_OPTS));
    const bar = layout.colorBar;
    const x = bar.x + (bar.width >> 1);
    assert.deepEqual(png.pixel(x, bar.y), [...plot.COLORMAP_LUT[255]]);
    assert.deepEqual(png.pixel(x, bar.y + bar.height - 1), [...plot.COLORMAP_LUT[0]]);
    assert.ok(bar.x > layout.panels[1].x + layout.panels[1].width);
  });

  it('works for other shapes and honours dbRange (clamping values outside it)', () => {
    const shape = [3, 64, 100];
    const opts = { ...CHUNK_OPTS, chunkStride: 50, dbRange: [-60, 0] };
    const data = fill(shape, (c, m, t) => (t < 50 ? -100 : -30 + c * 40)); // -30, 10, 50: the last two above the range
    const layout = plot.layoutMelChunks(data, shape, opts);
    const png = decodePng(plot.renderMelChunksPng(data, shape, opts));
    assert.deepEqual(layout.dbRange, [-60, 0]);
    assert.equal(layout.panels.length, 3);
    const at = (c, t) => png.pixel(...cellCentre(layout, layout.panels[c], 64, 32, t));
    assert.deepEqual(at(0, 10), [...plot.COLORMAP_LUT[0]], 'below the range: dark end');
    assert.deepEqual(at(0, 80), [...expectedColour(-30, -60, 0)]);
    assert.deepEqual(at(1, 80), [...plot.COLORMAP_LUT[255]], 'above the range: light end');
    assert.deepEqual(at(2, 99), [...plot.COLORMAP_LUT[255]]);
  });

  it('draws constant data in the middle colour, without NaN', () => {
    const shape = [3, 64, 100];
    const data = new Float32Array(3 * 64 * 100).fill(-42);
    const layout = plot.layoutMelChunks(data, shape, CHUNK_OPTS);
    assert.ok(layout.dbRange.every(Number.isFinite) && layout.dbRange[0] < -42 && layout.dbRange[1] > -42);
    const png = decodePng(plot.renderMelChunksPng(data, shape, CHUNK_OPTS));
    for (const panel of layout.panels) {
      assert.deepEqual(png.pixel(panel.x, panel.y), [...plot.colormap(0.5)]);
      assert.deepEqual(png.pixel(panel.x + panel.width - 1, panel.y + panel.height - 1), [...plot.colormap(0.5)]);
    }
  });

  it('ignores NaN and infinities when finding the range, and paints NaN grey', () => {
    const shape = [1, 4, 4];
    const data = fill(shape, (c, m, t) => m * 4 + t);
    data[0] = NaN;
    data[1] = -Infinity;
    data[15] = Infinity;
    const layout = plot.layoutMelChunks(data, shape, CHUNK_OPTS);
    assert.deepEqual(layout.dbRange, [2, 14]);
    const png = decodePng(plot.renderMelChunksPng(data, shape, CHUNK_OPTS));
    const panel = layout.panels[0];
    const pixel = (m, t) => png.pixel(...cellCentre(layout, panel, 4, m, t));
    const nan = pixel(0, 0);
    assert.equal(nan[0], nan[1]);
    assert.equal(nan[1], nan[2]);
    assert.deepEqual(pixel(0, 1), [...plot.COLORMAP_LUT[0]]);
    assert.deepEqual(pixel(3, 3), [...plot.COLORMAP_LUT[255]]);
  });

  it('handles the smallest input and a pixelScale override', () => {
    const one = decodePng(plot.renderMelChunksPng(Float32Array.of(1), [1, 1, 1], CHUNK_OPTS));
    assert.ok(one.width > 0 && one.height > 0);
    const opts = { ...CHUNK_OPTS, pixelScale: [3, 2] };
    const layout = plot.layoutMelChunks(new Float32Array(2 * 10 * 10), [2, 10, 10], opts);
    assert.equal(layout.scaleX, 3);
    assert.equal(layout.scaleY, 2);
    assert.equal(layout.panels[0].width, 30);
    assert.equal(layout.panels[0].height, 20);
  });

  it('rejects invalid arguments', () => {
    const shape = [2, 4, 5];
    const data = new Float32Array(40);
    const bad = (override) => () => plot.renderMelChunksPng(data, shape, { ...CHUNK_OPTS, ...override });
    assert.throws(() => plot.renderMelChunksPng([0], [1, 1, 1], CHUNK_OPTS), { name: 'TypeError', message: /Float32Array for data/ });
    assert.throws(() => plot.renderMelChunksPng(data, [2, 4, 6], CHUNK_OPTS), { name: 'RangeError', message: /data\.length/ });
    assert.throws(() => plot.renderMelChunksPng(data, [2, 20], CHUNK_OPTS), RangeError);
    assert.throws(() => plot.renderMelChunksPng(data, [2, 0, 5], CHUNK_OPTS), { name: 'RangeError', message: /positive integer for shape\[1\]/ });
    assert.throws(() => plot.renderMelChunksPng(data, 'shape', CHUNK_OPTS), TypeError);
    assert.throws(() => plot.renderMelChunksPng(data, shape), TypeError);
    assert.throws(bad({ sampleRate: 0 }), { name: 'RangeError', message: /positive number for sampleRate but received 0/ });
    assert.throws(bad({ hopLength: 2.5 }), RangeError);
    assert.throws(bad({ chunkStride: '64' }), TypeError);
    assert.throws(bad({ fMin: -1 }), RangeError);
    assert.throws(bad({ fMax: 0, fMin: 0 }), { name: 'RangeError', message: /fMax/ });
    assert.throws(bad({ dbRange: [0, 0] }), RangeError);
    assert.throws(bad({ dbRange: [0, NaN] }), RangeError);
    assert.throws(bad({ dbRange: -80 }), TypeError);
    assert.throws(bad({ title: 7 }), TypeError);
    assert.throws(bad({ pixelScale: [0, 1] }), RangeError);
    assert.throws(bad({ dbrange: [-80, 0] }), { name: 'TypeError', message: /Unknown option 'dbrange'/ });
  });
});

describe('plot: renderSpectrogramPng', () => {
  it('draws a single mel × frame spectrogram with low bands at the bottom', () => {
    const M = 64;
    const T = 50;
    const data = new Float32Array(M * T);
    for (let m = 0; m < M; m++) data.fill(m, m * T, (m + 1) * T);
    const png = decodePng(plot.renderSpectrogramPng(data, [M, T], { sampleRate: 16000, hopLength: 160, fMin: 50, fMax: 8000, startTime: 2 }));
    // Find the panel by its colours: the light end (band 63) must sit above the dark end (band 0).
    const rowsWith = (colour) => {
      const rows = [];
      for (let y = 0; y < png.height; y++) for (let x = 0; x < png.width; x += 4) if (png.pixel(x, y).join() === colour.join()) { rows.push(y); break; }
      return rows;
    };
    const top = rowsWith(plot.COLORMAP_LUT[255]);
    const bottom = rowsWith(plot.COLORMAP_LUT[0]);
    assert.ok(top.length > 0 && bottom.length > 0);
    assert.ok(top[0] < bottom[0]);
  });

  it('rejects a chunked shape', () => {
    const opts = { sampleRate: 16000, hopLength: 160, fMin: 0, fMax: 8000 };
    assert.throws(() => plot.renderSpectrogramPng(new Float32Array(8), [2, 2, 2], opts), RangeError);
    assert.throws(() => plot.renderSpectrogramPng(new Float32Array(8), [2, 4], { ...opts, chunkStride: 2 }), /Unknown option 'chunkStride'/);
  });
});
