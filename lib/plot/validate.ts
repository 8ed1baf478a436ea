// Argument checks specific to the plot module, in the message style of
// lib/validate ("Expected <what> for <name> but received <value>").
import { invalidRange, invalidType } from '../validate';

export { invalidRange, invalidType };

/**
 * Checks for an integer in [1, max]; returns it so call sites stay one line.
 * The upper bound is only spelt out when it is the problem, to keep the
 * common message short.
 */
export function checkPositiveInteger(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw invalidType(name, 'a positive integer', value);
  if (!Number.isInteger(value) || value < 1) throw invalidRange(name, 'a positive integer', value);
  if (value > max) throw invalidRange(name, `a positive integer no greater than ${max}`, value);
  return value;
}

/** Checks for a finite number strictly greater than zero. */
export function checkPositiveNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a positive number', value);
  if (!(Number.isFinite(value) && value > 0)) throw invalidRange(name, 'a positive number', value);
  return value;
}

/** Checks for a finite number that is zero or more. */
export function checkNonNegativeNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a non-negative number', value);
  if (!(Number.isFinite(value) && value >= 0)) throw invalidRange(name, 'a non-negative number', value);
  return value;
}

/** Checks for a finite number. */
export function checkFinite(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a finite number', value);
  if (!Number.isFinite(value)) throw invalidRange(name, 'a finite number', value);
  return value;
}

/** Checks for an options object (undefined is not accepted: the options carry required fields). */
export function checkObject(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidType(name, 'an options object', value);
  return value as Record<string, unknown>;
}
