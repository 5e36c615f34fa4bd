/** Shape checks the machines' guards share. Pure, and importing nothing of ours. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: unknown): value is string =>
  typeof value === 'string' && UUID.test(value);

/** Absent, null, or a UUID: the optional ids events carry. */
export const isOptionalUuid = (value: unknown): boolean =>
  value === undefined || value === null || isUuid(value);

export const isOptionalText = (value: unknown): boolean =>
  value === undefined || value === null || typeof value === 'string';

/** A whole, non-negative number that fits a bigint column: token counts. */
export const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

export const isNonNegative = (n: unknown): n is number =>
  typeof n === 'number' && Number.isFinite(n) && n >= 0;

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An ISO-8601 timestamp with a zone, as every event's `at` must be: strict, so JavaScript
 * and PostgreSQL read it the same way.
 */
export const isTimestamp = (value: unknown): value is string =>
  typeof value === 'string' && ISO_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value));
