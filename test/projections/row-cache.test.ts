import { describe, expect, it } from 'vitest';
import { createRowCache } from '../../src/projections/row-cache.ts';

describe('the row cache', () => {
  it('answers only for the exact stream version it remembers', () => {
    const cache = createRowCache();
    cache.record('tasks', '"a"', 's1', 3, { id: 'a', n: 1 });
    expect(cache.lookup('tasks', '"a"', 's1', 3)).toEqual({ id: 'a', n: 1 });
    expect(cache.lookup('tasks', '"a"', 's1', 2)).toBeUndefined();
    expect(cache.lookup('tasks', '"a"', 's2', 3)).toBeUndefined();
    expect(cache.lookup('flow_runs', '"a"', 's1', 3)).toBeUndefined();
    cache.record('human_inbox', '"a"', 's1', 4, null);
    expect(cache.lookup('human_inbox', '"a"', 's1', 4)).toBeNull();
  });

  it('forgets whole streams, and the oldest entries beyond its bound', () => {
    const cache = createRowCache(3);
    cache.record('tasks', '"a"', 'a', 1, {});
    cache.record('human_inbox', '"a"', 'a', 1, null);
    cache.record('tasks', '"b"', 'b', 1, {});
    cache.forget(['a']);
    expect(cache.size).toBe(1);
    for (const k of ['c', 'd', 'e']) cache.record('tasks', `"${k}"`, k, 1, {});
    expect(cache.size).toBe(3);
    expect(cache.lookup('tasks', '"b"', 'b', 1)).toBeUndefined();
    expect(cache.lookup('tasks', '"e"', 'e', 1)).toEqual({});
  });
});
