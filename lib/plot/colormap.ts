// A "cubehelix"-style colour map (after D. A. Green, 2011, "A colour scheme for
// the display of astronomical intensity images"): lightness rises linearly from
// dark to light while the hue turns around a helix in RGB space. Because the
// hue excursions are chosen to leave luma unchanged, lightness alone encodes
// the value, so the map reads correctly in greyscale and for colour-blind eyes.
//
// Green derived his helix axes from the NTSC luma weights; here they are
// derived (below) from the Rec. 709 weights that the rest of the world uses
// for sRGB, and the helix amplitude is reduced wherever it would leave the RGB
// cube, so no channel ever clips and luma stays exactly on its ramp.

/** An sRGB colour as three 0..255 integers. */
export type Rgb = readonly [number, number, number];

type Vec3 = readonly [number, number, number];

/** Rec. 709 luma weights: relative brightness of R, G and B. */
const LUMA: Vec3 = [0.2126, 0.7152, 0.0722];

// The look of the map. Hue angles are in turns around the helix axis:
// 0 = blue, 0.25 = red, 0.5 = yellow, 0.75 = green/cyan. Half a turn from
// blue-violet to yellow gives black -> indigo -> magenta -> coral -> gold ->
// cream, the "fire" ordering people read as quiet-to-loud. SATURATION is
// deliberately high: the gamut limit, not the envelope, sets the mid-range
// colourfulness.
const START_ANGLE = 0.06;
const ROTATIONS = 0.47;
const SATURATION = 4;
// Both ends stay a little off pure black/white so quantisation to 8 bits
// cannot flatten the lightness ramp (see quantise()).
const MIN_LIGHTNESS = 0.02;
const MAX_LIGHTNESS = 0.97;

const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a: Vec3): number => Math.sqrt(dot(a, a));
const scale = (a: Vec3, k: number): Vec3 => [a[0] * k, a[1] * k, a[2] * k];

// Two axes spanning the plane of colours with zero luma (LUMA · v = 0, as the
// weights sum to 1). BLUE_AXIS is pure blue minus its own luma as grey, so hue
// angle 0 points at blue as in Green's scheme; RED_AXIS is perpendicular to it
// within that plane and scaled to the same length.
const BLUE_AXIS: Vec3 = [-LUMA[2], -LUMA[2], 1 - LUMA[2]];
const RED_AXIS: Vec3 = scale(cross(LUMA, BLUE_AXIS), norm(BLUE_AXIS) / norm(cross(LUMA, BLUE_AXIS)));

/** The largest helix amplitude that keeps `lightness + a * dir` inside the RGB cube. */
function maxAmplitude(lightness: number, dir: Vec3): number {
  let limit = Infinity;
  for (const d of dir) {
    if (d > 1e-12) limit = Math.min(limit, (1 - lightness) / d);
    else if (d < -1e-12) limit = Math.min(limit, lightness / -d);
  }
  return limit;
}

/** The unquantised colour at position `t` in [0, 1], channels in [0, 1], and its luma. */
function helixColour(t: number): { rgb: Vec3; lightness: number } {
  const lightness = MIN_LIGHTNESS + (MAX_LIGHTNESS - MIN_LIGHTNESS) * t;
  const angle = 2 * Math.PI * (START_ANGLE + ROTATIONS * t);
  const dir: Vec3 = [
    Math.cos(angle) * BLUE_AXIS[0] + Math.sin(angle) * RED_AXIS[0],
    Math.cos(angle) * BLUE_AXIS[1] + Math.sin(angle) * RED_AXIS[1],
    Math.cos(angle) * BLUE_AXIS[2] + Math.sin(angle) * RED_AXIS[2],
  ];
  // Green's amplitude envelope: zero at black and white, widest mid-way.
  const wanted = (SATURATION * lightness * (1 - lightness)) / 2;
  const amplitude = Math.min(wanted, maxAmplitude(lightness, dir));
  return { rgb: [lightness + amplitude * dir[0], lightness + amplitude * dir[1], lightness + amplitude * dir[2]], lightness };
}

const clampByte = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));

/**
 * Rounds to 8 bits while keeping luma on target: R and B are rounded, then G
 * (the heaviest weight) is picked to absorb their rounding error. That bounds
 * the luma error by half a G step (0.36 of a luma unit), less than half the
 * ramp's step between neighbouring LUT entries, so the 8-bit map stays strictly
 * increasing in luma.
 */
function quantise(rgb: Vec3, lightness: number): Rgb {
  const r = clampByte(rgb[0] * 255);
  const b = clampByte(rgb[2] * 255);
  const g = clampByte((lightness * 255 - LUMA[0] * r - LUMA[2] * b) / LUMA[1]);
  return [r, g, b];
}

/**
 * The colour map's colour at `t`.
 *
 * @param t - Position in the map; values outside [0, 1] are clamped.
 * @returns An sRGB colour as three 0..255 integers; luma
 *   (0.2126 R + 0.7152 G + 0.0722 B) grows with `t`.
 * @throws TypeError if `t` is not a number, RangeError if it is NaN.
 */
export function colormap(t: number): Rgb {
  if (typeof t !== 'number') throw new TypeError(`Expected a number for t but received ${String(t)} of type ${typeof t}`);
  if (Number.isNaN(t)) throw new RangeError('Expected a number for t but received NaN');
  const clamped = Math.min(1, Math.max(0, t));
  const { rgb, lightness } = helixColour(clamped);
  return quantise(rgb, lightness);
}

/** Number of entries in {@link COLORMAP_LUT}. */
export const COLORMAP_SIZE = 256;

/**
 * The colour map sampled at 256 evenly spaced points: entry `i` is
 * `colormap(i / 255)`. Frozen; renderers pick entry `colormapIndex(t)`.
 */
export const COLORMAP_LUT: ReadonlyArray<Rgb> = Object.freeze(
  Array.from({ length: COLORMAP_SIZE }, (_, i) => Object.freeze(colormap(i / (COLORMAP_SIZE - 1)))),
);

/** The LUT flattened to R, G, B bytes for the pixel loops (internal, not re-exported). */
export const COLORMAP_BYTES: Uint8Array = Uint8Array.from(COLORMAP_LUT.flat());

/**
 * The {@link COLORMAP_LUT} entry used for `t` (clamped to [0, 1], rounded to
 * the nearest of the 256 entries); NaN gives entry 0.
 */
export function colormapIndex(t: number): number {
  if (!(t > 0)) return 0; // also catches NaN, so callers always get a valid index
  return Math.round(Math.min(1, t) * (COLORMAP_SIZE - 1));
}
