// A 5×7 pixel bitmap font drawn for this module: digits, both cases, space and
// the punctuation axis labels need. Cells are 5 pixels wide and 9 tall: 7 rows
// from cap height down to the baseline plus 2 rows for descenders (g j p q y ,).
// It is monospaced so numeric tick labels line up.
import type { Rgb } from './colormap';

/** Anything that can fill a rectangle; RgbCanvas implements it. */
export interface FillTarget {
  fillRect(x: number, y: number, width: number, height: number, color: Rgb): void;
}

/** Glyph width in font pixels. */
export const GLYPH_WIDTH = 5;
/** Cap height in font pixels: the distance from the top of the cell to the baseline. */
export const GLYPH_HEIGHT = 7;
/** Rows below the baseline for descenders. */
export const GLYPH_DESCENT = 2;
/** Horizontal distance from one character to the next, in font pixels. */
export const GLYPH_ADVANCE = GLYPH_WIDTH + 1;
/** Vertical distance from one line to the next, in font pixels. */
export const LINE_HEIGHT = GLYPH_HEIGHT + GLYPH_DESCENT + 2;

// Each glyph is its rows top to bottom, '#' = ink, separated by spaces; rows
// 8 and 9 (descenders) are given only where used.
const GLYPH_SOURCE: Readonly<Record<string, string>> = {
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '.###. #...# ....# ..##. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '####. #...# #...# #...# #...# #...# ####.',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# ##..# ##..# #.#.# #..## #..## #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.###. #...# #.... .###. ....# #...# .###.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... ####. #...# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .#### #...# #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... ..... .##.. .##.. ..#.. .#...',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. .##.. ..#.. .#...',
  '-': '..... ..... ..... .###. ..... ..... .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '×': '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '/': '....# ....# ...#. ..#.. .#... #.... #....',
  '%': '##..# ##..# ...#. ..#.. .#... #..## #..##',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '[': '.###. .#... .#... .#... .#... .#... .###.',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#.',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '_': '..... ..... ..... ..... ..... ..... ##### .....',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....',
  '"': '.#.#. .#.#. ..... ..... ..... ..... .....',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  '@': '.###. #...# #.### #.#.# #.### #.... .####',
  '~': '..... ..... .#... #.#.# ...#. ..... .....',
  '\u2013': '..... ..... ..... ##### ..... ..... .....', // en dash, for ranges
  '\u2212': '..... ..... ..... ##### ..... ..... .....', // minus sign
  '\u00b0': '.##.. #..#. .##.. ..... ..... ..... .....', // degree
  '\u00b5': '..... ..... #...# #...# #...# ##..# #.##. #.... #....', // micro
};

// Drawn for characters the font lacks, so a missing glyph is visible rather than silently dropped.
const MISSING_GLYPH = '##### #...# #...# #...# #...# #...# #####';

/** A glyph as one bit mask per row; bit 4 is the leftmost column. */
type Glyph = readonly number[];

function parseGlyph(source: string): Glyph {
  return source.split(' ').map((row) => {
    let mask = 0;
    for (let col = 0; col < GLYPH_WIDTH; col++) if (row[col] === '#') mask |= 1 << (GLYPH_WIDTH - 1 - col);
    return mask;
  });
}

const GLYPHS: ReadonlyMap<string, Glyph> = new Map(Object.entries(GLYPH_SOURCE).map(([ch, src]) => [ch, parseGlyph(src)]));
const MISSING: Glyph = parseGlyph(MISSING_GLYPH);

function glyphFor(ch: string): Glyph {
  return GLYPHS.get(ch) ?? MISSING;
}

/** True if the font has a glyph for `ch` (one character). */
export function hasGlyph(ch: string): boolean {
  return GLYPHS.has(ch);
}

/**
 * Width in pixels of the widest line of `text` drawn at `scale`
 * (no trailing spacing column).
 */
export function textWidth(text: string, scale = 1): number {
  let widest = 0;
  for (const line of text.split('\n')) widest = Math.max(widest, [...line].length);
  return widest === 0 ? 0 : (widest * GLYPH_ADVANCE - 1) * scale;
}

/** Height in pixels of `text` at `scale`, from the top of the first line to the baseline of the last. */
export function textHeight(text: string, scale = 1): number {
  return ((text.split('\n').length - 1) * LINE_HEIGHT + GLYPH_HEIGHT) * scale;
}

/** Calls `plot(col, row)` for every inked font pixel of `text`, in text coordinates. */
function forEachInkPixel(text: string, plot: (col: number, row: number) => void): void {
  text.split('\n').forEach((line, lineIndex) => {
    [...line].forEach((ch, charIndex) => {
      glyphFor(ch).forEach((mask, row) => {
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (mask & (1 << (GLYPH_WIDTH - 1 - col))) plot(charIndex * GLYPH_ADVANCE + col, lineIndex * LINE_HEIGHT + row);
        }
      });
    });
  });
}

/**
 * Draws `text` with its top-left corner (top of the capitals) at (`x`, `y`).
 * '\n' starts a new line. Characters without a glyph are drawn as a box.
 *
 * @param img - Where to draw, e.g. an {@link RgbCanvas}.
 * @param scale - Integer magnification: each font pixel becomes scale × scale pixels.
 */
export function drawText(img: FillTarget, x: number, y: number, text: string, color: Rgb, scale = 1): void {
  const s = Math.max(1, Math.round(scale));
  forEachInkPixel(text, (col, row) => img.fillRect(x + col * s, y + row * s, s, s, color));
}

/**
 * Draws `text` rotated a quarter turn anticlockwise, reading bottom to top,
 * as for a vertical axis title. (`x`, `y`) is the top-left corner of the
 * rotated block, which is {@link textHeight} wide (plus descenders) and
 * {@link textWidth} tall.
 */
export function drawTextVertical(img: FillTarget, x: number, y: number, text: string, color: Rgb, scale = 1): void {
  const s = Math.max(1, Math.round(scale));
  const length = textWidth(text, 1);
  forEachInkPixel(text, (col, row) => img.fillRect(x + row * s, y + (length - 1 - col) * s, s, s, color));
}
