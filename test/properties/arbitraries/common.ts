/**
 * Pieces every machine's event arbitraries share: timestamps on a small clock (so deadlines
 * and lease expiries meet often), and `maybeInvalid`, which turns a well-formed event into
 * one with a missing or mistyped field now and then, so every guard is also asked to refuse.
 */
import fc from 'fast-check';
import type { Ev } from '../../helpers/machines.ts';

export type { Ev };

export const minute = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();
export const at = fc.integer({ min: 0, max: 120 }).map(minute);

/** Values no field of any event takes (or takes only sometimes: '' and 0 are probes too). */
const BAD = [undefined, null, 42, -1, 1.5, '', 'not-a-uuid', [], {}, true] as const;

/**
 * Mostly `arb` as it is (4 in 4 + invalidWeight); otherwise one of its fields (never `type`, never `at`: the runtime
 * refuses a command without a valid `at` before any machine sees it) dropped or replaced by a
 * wrong value. A replaced value may still happen to be valid: the guard decides.
 */
export function maybeInvalid(arb: fc.Arbitrary<Ev>, invalidWeight = 2): fc.Arbitrary<Ev> {
  const broken = fc.tuple(arb, fc.nat(), fc.constantFrom(...BAD)).map(([event, n, bad]) => {
    const fields = Object.keys(event).filter((k) => k !== 'type' && k !== 'at');
    if (fields.length === 0) return event;
    const field = fields[n % fields.length]!;
    const copy: Ev = { ...event };
    if (bad === undefined) delete copy[field];
    else copy[field] = bad;
    return copy;
  });
  return fc.oneof({ weight: 4, arbitrary: arb }, { weight: invalidWeight, arbitrary: broken });
}

export const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
