'use strict';
// A minimal PNG reader for the plot tests (8-bit RGB, non-interlaced), independent of lib/plot.
const assert = require('node:assert/strict');
const zlib = require('node:zlib');

function paeth(a, b, c) {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** Minimal reader for 8-bit RGB, non-interlaced PNGs. */
function decodePng(buf) {
  assert.ok(Buffer.isBuffer(buf), 'PNG should be a Buffer');
  assert.equal(buf.readUInt32BE(0), 0x89504e47, 'PNG signature');
  let width = 0;
  let height = 0;
  const idat = [];
  for (let p = 8; p < buf.length; ) {
    const length = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    const data = buf.subarray(p + 8, p + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepEqual([...data.subarray(8)], [8, 2, 0, 0, 0], '8-bit RGB, no interlace');
    } else if (type === 'IDAT') idat.push(data);
    p += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  assert.equal(raw.length, height * (stride + 1));
  const rgb = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const a = i >= 3 ? rgb[y * stride + i - 3] : 0;
      const b = y > 0 ? rgb[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= 3 ? rgb[(y - 1) * stride + i - 3] : 0;
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][type];
      rgb[y * stride + i] = (raw[y * (stride + 1) + 1 + i] + predictor) & 0xff;
    }
  }
  return { width, height, pixel: (x, y) => [...rgb.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)] };
}

module.exports = { paeth, decodePng };
