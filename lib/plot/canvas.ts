// A minimal RGB raster: just enough drawing to lay out a plot. Every drawing
// call clips to the canvas, so layout code never has to bounds-check.
import type { Rgb } from './colormap';
import { drawText, drawTextVertical, type FillTarget } from './font';
import { encodePng } from './png';
import { checkPositiveInteger } from '../validate';

/** An RGB image in memory with simple drawing operations. */
export class RgbCanvas implements FillTarget {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Pixels row by row from the top left, 3 bytes (R, G, B) each. */
  readonly data: Uint8Array;

  /**
   * @param width - Width in pixels, a positive integer.
   * @param height - Height in pixels, a positive integer.
   * @param background - Initial colour of every pixel (default white).
   * @throws TypeError / RangeError if a size is not a positive integer.
   */
  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    this.width = checkPositiveInteger('width', width);
    this.height = checkPositiveInteger('height', height);
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  /** Sets one pixel; coordinates are rounded, pixels outside the canvas are ignored. */
  setPixel(x: number, y: number, color: Rgb): void {
    this.fillRect(x, y, 1, 1, color);
  }

  /** The colour at (`x`, `y`), or undefined outside the canvas. */
  getPixel(x: number, y: number): Rgb | undefined {
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= this.width || y >= this.height) return undefined;
    const i = (y * this.width + x) * 3;
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  /** Fills a `width` × `height` rectangle whose top-left corner is (`x`, `y`), clipped to the canvas. */
  fillRect(x: number, y: number, width: number, height: number, color: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + width));
    const y1 = Math.min(this.height, Math.round(y + height));
    for (let row = y0; row < y1; row++) {
      for (let i = (row * this.width + x0) * 3, end = (row * this.width + x1) * 3; i < end; i += 3) {
        this.data[i] = color[0];
        this.data[i + 1] = color[1];
        this.data[i + 2] = color[2];
      }
    }
  }

  /** Horizontal line from `x0` to `x1` inclusive (either order) at row `y`. */
  hline(x0: number, x1: number, y: number, color: Rgb): void {
    this.fillRect(Math.min(x0, x1), y, Math.abs(x1 - x0) + 1, 1, color);
  }

  /** Vertical line from `y0` to `y1` inclusive (either order) at column `x`. */
  vline(x: number, y0: number, y1: number, color: Rgb): void {
    this.fillRect(x, Math.min(y0, y1), 1, Math.abs(y1 - y0) + 1, color);
  }

  /** One-pixel outline just inside the rectangle (`x`, `y`, `width`, `height`). */
  strokeRect(x: number, y: number, width: number, height: number, color: Rgb): void {
    this.hline(x, x + width - 1, y, color);
    this.hline(x, x + width - 1, y + height - 1, color);
    this.vline(x, y, y + height - 1, color);
    this.vline(x + width - 1, y, y + height - 1, color);
  }

  /** Draws `text` in the built-in 5×7 font with its top-left corner at (`x`, `y`); see {@link drawText}. */
  drawText(x: number, y: number, text: string, color: Rgb, scale = 1): void {
    drawText(this, x, y, text, color, scale);
  }

  /** Draws `text` reading bottom to top; see {@link drawTextVertical}. */
  drawTextVertical(x: number, y: number, text: string, color: Rgb, scale = 1): void {
    drawTextVertical(this, x, y, text, color, scale);
  }

  /** Encodes the canvas as a PNG file. */
  toPng(): Buffer {
    return encodePng(this.width, this.height, this.data);
  }
}
