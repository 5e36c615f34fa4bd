/**
 * Checks on what append is given, before anything reaches the database, so bad input is
 * a ValidationError with nothing written rather than a driver error or, worse, a silent
 * change (JSON.stringify turns NaN into null and drops undefined).
 */
import { ValidationError } from '../errors.ts';
import { STREAM_TYPES, type NewEvent, type StreamRef } from './types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT_NAME = /^[a-z][a-z0-9_]*$/;
const MAX_DEPTH = 64;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function checkStream(stream: StreamRef): void {
  if (!(STREAM_TYPES as readonly unknown[]).includes(stream?.type)) {
    throw new ValidationError(
      `unknown stream type ${JSON.stringify(stream?.type)}; expected one of ${STREAM_TYPES.join(', ')}`,
    );
  }
  if (!isUuid(stream.id)) {
    throw new ValidationError(`stream id must be a UUID, got ${JSON.stringify(stream.id)}`);
  }
}

export function checkExpectedVersion(expected: unknown): asserts expected is number {
  if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < 0) {
    throw new ValidationError(
      `expected version must be an integer >= 0 (0 for a new stream), got ${String(expected)}`,
    );
  }
}

/** Throws unless `value` is plain JSON that PostgreSQL's jsonb stores unchanged. */
export function checkJson(value: unknown, where: string, depth = 0): void {
  if (depth > MAX_DEPTH) throw new ValidationError(`${where}: nested deeper than ${MAX_DEPTH}`);
  switch (typeof value) {
    case 'string':
      // jsonb cannot hold U+0000; PostgreSQL would reject the whole append.
      if (value.includes('\u0000')) throw new ValidationError(`${where}: contains a NUL character`);
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new ValidationError(`${where}: ${value} is not JSON`);
      return;
    case 'object': {
      if (value === null) return;
      if (Array.isArray(value)) {
        value.forEach((item, i) => checkJson(item, `${where}[${i}]`, depth + 1));
        return;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new ValidationError(
          `${where}: a ${value.constructor?.name ?? 'class'} instance is not plain JSON`,
        );
      }
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\u0000'))
          throw new ValidationError(`${where}: a key contains a NUL character`);
        checkJson(item, `${where}.${key}`, depth + 1);
      }
      return;
    }
    default:
      throw new ValidationError(`${where}: a ${typeof value} is not JSON`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkEvents(stream: StreamRef, events: readonly NewEvent[]): void {
  if (!Array.isArray(events) || events.length === 0) {
    throw new ValidationError('append needs at least one event');
  }
  events.forEach((event, i) => {
    const where = `events[${i}]`;
    if (!isPlainObject(event)) throw new ValidationError(`${where}: not an object`);
    const parts = typeof event.type === 'string' ? event.type.split('.') : [];
    if (
      parts.length < 2 ||
      parts[0] !== stream.type ||
      !parts.slice(1).every((p) => EVENT_NAME.test(p))
    ) {
      throw new ValidationError(
        `${where}: type must be "${stream.type}.<past_tense_name>", got ${JSON.stringify(event.type)}`,
      );
    }
    if (!isPlainObject(event.data))
      throw new ValidationError(`${where}.data: must be a JSON object`);
    checkJson(event.data, `${where}.data`);
    if (event.meta !== undefined) {
      if (!isPlainObject(event.meta))
        throw new ValidationError(`${where}.meta: must be a JSON object`);
      checkJson(event.meta, `${where}.meta`);
    }
  });
}
