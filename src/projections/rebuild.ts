/**
 * `boocoder rebuild`: replay the whole log into fresh read tables, then swap them in.
 *
 * 1. In one REPEATABLE READ transaction (a fixed snapshot S): create `<table>_next` like each
 *    read table and fill it from every event S sees, in pages of `batchSize`. Appends go on
 *    meanwhile; the API keeps reading the live tables.
 * 2. In a short second transaction: lock `events` against writers, project the events S did
 *    not see (committed since, or in flight then), and replace each table's rows with the
 *    rebuilt ones. Readers wait on the swap's lock for that moment instead of ever seeing an
 *    empty or half-filled table.
 * Events are applied in position order, which within one stream is version order (a
 * stream's next append starts only after the previous one committed).
 */
import type pg from 'pg';
import type { StoredEvent } from '../store/types.ts';
import { PROJECTIONS } from './index.ts';
import { projectEvents } from './project.ts';
import type { Projection } from './types.ts';

const EVENT_COLUMNS = `position, tx_id as "txId", stream_type as "streamType", stream_id as "streamId",
  version, type, data, meta, created_at as "createdAt"`;
const SUFFIX = '_next';

export interface RebuildResult {
  events: number;
  /** Events that arrived during the build and were applied under the lock. */
  tail: number;
  ms: number;
}

async function swap(
  client: pg.PoolClient,
  snapshot: string,
  project: (db: pg.PoolClient, events: StoredEvent[]) => Promise<void>,
  projections: readonly Projection[],
  batchSize: number,
): Promise<StoredEvent[]> {
  await client.query('begin');
  // SHARE blocks inserts (and waits for the ones in flight) but not reads.
  await client.query('lock table events in share mode');
  const { rows: tail } = await client.query<StoredEvent>(
    `select ${EVENT_COLUMNS} from events
     where tx_id >= pg_snapshot_xmin($1::pg_snapshot) and not pg_visible_in_snapshot(tx_id, $1::pg_snapshot)
     order by position`,
    [snapshot],
  );
  for (let i = 0; i < tail.length; i += batchSize)
    await project(client, tail.slice(i, i + batchSize));
  for (const { table } of projections) {
    await client.query(`lock table ${table} in access exclusive mode`);
    // DELETE, not TRUNCATE: TRUNCATE would show an empty table to older snapshots.
    await client.query(`delete from ${table}`);
    await client.query(`insert into ${table} select * from ${table}${SUFFIX}`);
    await client.query(`drop table ${table}${SUFFIX}`);
  }
  await client.query('commit');
  return tail;
}

export async function rebuildProjections(
  pool: pg.Pool,
  options: { batchSize?: number; projections?: readonly Projection[] } = {},
): Promise<RebuildResult> {
  const { batchSize = 5000, projections = PROJECTIONS } = options;
  const started = performance.now();
  const project = (db: pg.PoolClient, events: StoredEvent[]) =>
    projectEvents(db, events, { projections, tableSuffix: SUFFIX });
  const client = await pool.connect();
  try {
    await client.query('begin isolation level repeatable read');
    // Only the key is indexed while the replay writes: the table's other indexes would be
    // kept up to date for nothing (the swap copies the rows into the real, indexed tables).
    for (const { table, key } of projections) {
      await client.query(`drop table if exists ${table}${SUFFIX}`);
      await client.query(
        `create table ${table}${SUFFIX} (like ${table} including defaults including constraints)`,
      );
      await client.query(`alter table ${table}${SUFFIX} add primary key (${key.join(', ')})`);
    }
    const { rows: snap } = await client.query<{ s: string }>(
      'select pg_current_snapshot()::text as s',
    );
    const snapshot = snap[0]!.s;
    let count = 0;
    let after = 0;
    for (;;) {
      const { rows } = await client.query<StoredEvent>(
        `select ${EVENT_COLUMNS} from events where position > $1 order by position limit $2`,
        [after, batchSize],
      );
      if (rows.length === 0) break;
      await project(client, rows);
      count += rows.length;
      after = rows.at(-1)!.position;
    }
    await client.query('commit');

    // Writers take `events` then a read table; a claim may take `tasks` then `events`. The
    // swap needs both, so it can deadlock with a claim: PostgreSQL aborts one side, and the
    // swap (a few statements) simply runs again.
    let tail: StoredEvent[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        tail = await swap(client, snapshot, project, projections, batchSize);
        break;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        if ((error as { code?: string }).code !== '40P01' || attempt >= 5) throw error;
      }
    }
    return { events: count + tail.length, tail: tail.length, ms: performance.now() - started };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
