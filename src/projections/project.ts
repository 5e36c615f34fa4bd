/**
 * Applies events to the read tables: load the rows they touch, fold them through each
 * projection's `evolve`, write back what changed. The inline path (one event, inside the
 * append transaction) and the rebuild (pages of thousands) run this same function.
 */
import type { Queryable } from '../store/db.ts';
import type { StoredEvent } from '../store/types.ts';
import { PROJECTIONS } from './index.ts';
import { deleteRows, keyString, loadRows, upsertRows, type RowWrites } from './sql.ts';
import type { RowCache } from './row-cache.ts';
import type { Projection, Row } from './types.ts';

export interface ProjectOptions {
  projections?: readonly Projection[];
  /** Write to `<table><suffix>` (a rebuild writes to `tasks_next`…). */
  tableSuffix?: string;
  /** The inline path's memory of the rows it wrote (used for single events only). */
  cache?: RowCache;
}

/** What projecting some events will write to one table. */
export type TableWrite = RowWrites;

/**
 * Reads the rows the events touch (or takes them from the cache) and folds the events through
 * each projection: what to write, not yet written. Rows do not depend on the event's position
 * or commit time, so the inline path can plan before the event is appended.
 */
export async function planProjection(
  db: Queryable,
  events: readonly StoredEvent[],
  options: ProjectOptions = {},
): Promise<TableWrite[]> {
  const { projections = PROJECTIONS, tableSuffix = '' } = options;
  // One event (the inline path) can be served from the cache; a batch reads its rows.
  const cache = events.length === 1 ? options.cache : undefined;
  const single = events[0]!;
  const writes: TableWrite[] = [];
  for (const projection of projections) {
    const touched: { event: StoredEvent; keys: Row[] }[] = [];
    const wanted = new Map<string, Row>();
    for (const event of events) {
      if (!projection.streamTypes.includes(event.streamType)) continue;
      const keys = projection.keysOf(event);
      if (keys.length === 0) continue;
      touched.push({ event, keys });
      for (const key of keys) wanted.set(keyString(projection, key), key);
    }
    if (touched.length === 0) continue;

    const table = projection.table + tableSuffix;
    const loaded = new Map<string, Row>();
    const missing: Row[] = [];
    for (const [k, key] of wanted) {
      const known = cache?.lookup(table, k, single.streamId, single.version - 1);
      if (known === undefined) missing.push(key);
      else if (known !== null) loaded.set(k, known);
    }
    if (missing.length > 0) {
      for (const [k, row] of await loadRows(db, table, projection, missing)) loaded.set(k, row);
    }
    const rows = new Map(loaded);
    for (const { event, keys } of touched) {
      for (const key of keys) {
        const k = keyString(projection, key);
        const before = rows.get(k) ?? null;
        const after = projection.evolve(before, event, key);
        if (after === null) rows.delete(k);
        else rows.set(k, after);
      }
    }
    // Write only what changed: evolve hands back the very row it was given when nothing did.
    const upserts = [...rows].filter(([k, row]) => loaded.get(k) !== row).map(([, row]) => row);
    const deletes = [...loaded.keys()].filter((k) => !rows.has(k)).map((k) => wanted.get(k)!);
    if (upserts.length > 0 || deletes.length > 0)
      writes.push({ table, projection, upserts, deletes });
    if (cache) {
      for (const k of wanted.keys())
        cache.record(table, k, single.streamId, single.version, rows.get(k) ?? null);
    }
  }
  return writes;
}

export async function applyWrites(db: Queryable, writes: readonly TableWrite[]): Promise<void> {
  for (const w of writes) {
    await upsertRows(db, w.table, w.projection, w.upserts);
    await deleteRows(db, w.table, w.projection, w.deletes);
  }
}

export async function projectEvents(
  db: Queryable,
  events: readonly StoredEvent[],
  options: ProjectOptions = {},
): Promise<void> {
  await applyWrites(db, await planProjection(db, events, options));
}
