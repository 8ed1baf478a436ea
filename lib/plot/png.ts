// A minimal PNG encoder: 8-bit truecolour (RGB), no interlacing, one filter
// type. That is all a plot needs, and it keeps the module free of dependencies.
import { deflateSync } from 'node:zlib';
import { checkPositiveInteger, invalidRange, invalidType } from '../validate';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// The PNG spec caps width, height and chunk lengths at 2^31 - 1.
const PNG_MAX_DIMENSION = 0x7fffffff;

// Large images are split over several IDAT chunks; readers concatenate them,
// and smaller chunks let streaming decoders start earlier.
const IDAT_CHUNK_BYTES = 1 << 20;

const CRC_TABLE = makeCrcTable();

/** Builds the byte-wise lookup table for the reflected CRC-32 polynomial 0xEDB88320. */
function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/**
 * CRC-32 (ISO 3309 / ITU-T V.42, the one PNG and zlib use) of `bytes`.
 * Pass a previous result as `crc` to continue over several buffers.
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** One chunk: length, type, data, and a CRC over type and data. */
function pngChunk(type: string, data: Uint8Array): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  chunk.set(data, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

function headerChunk(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour (RGB)
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method: adaptive (the only one defined)
  ihdr[12] = 0; // no interlace
  return pngChunk('IHDR', ihdr);
}

/**
 * Prefixes every scanline with filter type 0 (None). Plots are mostly flat
 * colour and repeated rows, which deflate's 32 KiB window already captures,
 * so smarter filters would buy little.
 */
function unfilteredScanlines(width: number, height: number, rgb: Uint8Array): Buffer {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return raw;
}

function dataChunks(compressed: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let start = 0; start < compressed.length; start += IDAT_CHUNK_BYTES) {
    chunks.push(pngChunk('IDAT', compressed.subarray(start, start + IDAT_CHUNK_BYTES)));
  }
  return chunks;
}

/**
 * Encodes an RGB image as a PNG file.
 *
 * @param width - Image width in pixels, a positive integer.
 * @param height - Image height in pixels, a positive integer.
 * @param rgb - Pixels row by row from the top left, 3 bytes (R, G, B) each;
 *   exactly `width * height * 3` bytes.
 * @returns The complete PNG file (signature, IHDR, IDAT, IEND).
 * @throws TypeError if an argument has the wrong type, RangeError if a size is
 *   not a positive integer or `rgb` has the wrong length.
 */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  checkPositiveInteger('width', width, PNG_MAX_DIMENSION);
  checkPositiveInteger('height', height, PNG_MAX_DIMENSION);
  if (!(rgb instanceof Uint8Array)) throw invalidType('rgb', 'a Uint8Array', rgb);
  const expected = width * height * 3;
  if (rgb.length !== expected) {
    throw invalidRange('rgb.length', `width × height × 3 = ${expected} bytes`, rgb.length);
  }
  const compressed = deflateSync(unfilteredScanlines(width, height, rgb), { level: 9 });
  return Buffer.concat([PNG_SIGNATURE, headerChunk(width, height), ...dataChunks(compressed), pngChunk('IEND', new Uint8Array(0))]);
}
