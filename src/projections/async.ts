/**
 * Asynchronous projections: consumers that follow the log outside the append transaction
 * (search indexes, metrics, anything slow). Each keeps its checkpoint in
 * `projection_checkpoints`, written in the same transaction as its own rows, and reads the
 * log with the gap-safe `readAll`, so it sees every event exactly once even after a crash.
 * The checkpoint row is locked while a batch is applied: two processes running the same
 * projection take turns instead of applying a batch twice.
 */
import type pg from 'pg';
import { withTransaction } from '../store/db.ts';
import type { EventStore } from '../store/events.ts';
import type { Checkpoint, StoredEvent, StreamType } from '../store/types.ts';

export interface AsyncProjection {
  name: string;
  streamTypes?: readonly StreamType[];
  apply(tx: pg.PoolClient, events: StoredEvent[]): Promise<void>;
}

export interface AsyncProjectionRunner {
  /** Applies everything visible after the checkpoint; returns how many events it applied. */
  catchUp(): Promise<number>;
  checkpoint(): Promise<Checkpoint>;
}

export function createAsyncProjectionRunner(
  pool: pg.Pool,
  store: EventStore,
  projection: AsyncProjection,
  batchSize = 1000,
): AsyncProjectionRunner {
  async function lockCheckpoint(tx: pg.PoolClient): Promise<Checkpoint> {
    await tx.query(
      `insert into projection_checkpoints (name, tx_id, position) values ($1, '0', 0)
       on conflict (name) do nothing`,
      [projection.name],
    );
    const { rows } = await tx.query<{ txId: number; position: number }>(
      `select tx_id as "txId", position from projection_checkpoints where name = $1 for update`,
      [projection.name],
    );
    return rows[0]!;
  }

  return {
    async catchUp() {
      let applied = 0;
      for (;;) {
        const count = await withTransaction(pool, async (tx) => {
          const after = await lockCheckpoint(tx);
          const { events, checkpoint } = await store.readAll({
            after,
            limit: batchSize,
            ...(projection.streamTypes ? { streamTypes: projection.streamTypes } : {}),
          });
          if (events.length === 0) return 0;
          await projection.apply(tx, events);
          await tx.query(
            `update projection_checkpoints set tx_id = $2::text::xid8, position = $3, updated_at = clock_timestamp()
             where name = $1`,
            [projection.name, checkpoint.txId, checkpoint.position],
          );
          return events.length;
        });
        applied += count;
        if (count < batchSize) return applied;
      }
    },
    async checkpoint() {
      const { rows } = await pool.query<{ txId: number; position: number }>(
        `select tx_id as "txId", position from projection_checkpoints where name = $1`,
        [projection.name],
      );
      return rows[0] ?? { txId: 0, position: 0 };
    },
  };
}
