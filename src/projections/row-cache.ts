/**
 * The inline projection's memory of the read rows it last wrote, so the next event of the
 * same stream need not read them back. Every read row belongs to one stream (its events are
 * the only ones that touch it), so a row remembered as of version v of its stream is exactly
 * what the table holds as long as the stream is still at v: an entry is used only for the
 * event v + 1 of that stream, and anyone else's write to the stream (another process) moves
 * its version past v, which makes the entry useless rather than wrong.
 *
 * Entries are written inside the append transaction, before it commits: the runtime forgets a
 * stream's entries when a transaction that touched it fails, so an entry of a write that
 * never committed is never used. Bounded (a row is about 1 KB: 10,000 rows cover a backlog of
 * thousands of queued tasks); the oldest entries go first.
 */
import type { Row } from './types.ts';

interface Entry {
  streamId: string;
  version: number;
  /** null: the row does not exist (deleted, or never made). */
  row: Row | null;
}

export interface RowCache {
  /** The row as of `version` of `streamId`; undefined when not known for that version. */
  lookup(table: string, key: string, streamId: string, version: number): Row | null | undefined;
  record(table: string, key: string, streamId: string, version: number, row: Row | null): void;
  /** Drops every entry of these streams (their last transaction failed). */
  forget(streamIds: Iterable<string>): void;
  readonly size: number;
}

export function createRowCache(limit = 10_000): RowCache {
  const entries = new Map<string, Entry>();
  const byStream = new Map<string, Set<string>>();
  const drop = (id: string) => {
    const entry = entries.get(id);
    if (!entry) return;
    entries.delete(id);
    const ids = byStream.get(entry.streamId);
    ids?.delete(id);
    if (ids?.size === 0) byStream.delete(entry.streamId);
  };
  return {
    lookup(table, key, streamId, version) {
      const entry = entries.get(`${table}|${key}`);
      return entry && entry.streamId === streamId && entry.version === version
        ? entry.row
        : undefined;
    },
    record(table, key, streamId, version, row) {
      const id = `${table}|${key}`;
      drop(id);
      entries.set(id, { streamId, version, row });
      let ids = byStream.get(streamId);
      if (!ids) byStream.set(streamId, (ids = new Set()));
      ids.add(id);
      while (entries.size > limit) drop(entries.keys().next().value!);
    },
    forget(streamIds) {
      for (const streamId of streamIds)
        for (const id of [...(byStream.get(streamId) ?? [])]) drop(id);
    },
    get size() {
      return entries.size;
    },
  };
}
