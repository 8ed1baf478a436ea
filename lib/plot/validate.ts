// Argument checks for the plot module. The message style matches the rest of
// emo-native ("Expected <what> for <name> but received <value>"), but the
// helpers live here so lib/plot stays self-contained.

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}' of type string`;
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return `${String(value)} of type ${typeof value}`;
}

/** The TypeError for a value of the wrong kind. */
export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

/** The RangeError for a value of the right kind outside its range. */
export function invalidRange(name: string, expected: string, value: unknown): RangeError {
  return new RangeError(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

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
