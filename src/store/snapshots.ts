/**
 * Snapshots: cached states of a stream at a version, so loading and time travel need not
 * fold the whole stream. A cache only: deleting them all changes no answer. Each records
 * the machine version that produced it; a snapshot of another version is never loaded.
 */
import type pg from 'pg';
import { ValidationError } from '../errors.ts';
import type { Queryable } from './db.ts';
import type { Json } from './types.ts';
import { checkJson, isUuid } from './validate-event.ts';

export interface Snapshot {
  streamId: string;
  version: number;
  machineVersion: string;
  state: Json;
}

export interface SnapshotStore {
  save(snapshot: Snapshot, tx?: pg.PoolClient): Promise<void>;
  /** The latest snapshot at or below `atOrBelow` (default: the latest) of that machine version. */
  load(streamId: string, machineVersion: string, atOrBelow?: number): Promise<Snapshot | undefined>;
}

export function createSnapshotStore(pool: pg.Pool): SnapshotStore {
  return {
    async save(snapshot, tx) {
      if (!isUuid(snapshot.streamId))
        throw new ValidationError('snapshot stream id must be a UUID');
      if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 1) {
        throw new ValidationError('snapshot version must be a positive integer');
      }
      checkJson(snapshot.state, 'snapshot.state');
      const db: Queryable = tx ?? pool;
      // The same stream at the same version has one state: a second save is a no-op.
      await db.query(
        `insert into snapshots (stream_id, version, machine_version, state)
         values ($1, $2, $3, $4) on conflict (stream_id, version) do nothing`,
        [
          snapshot.streamId,
          snapshot.version,
          snapshot.machineVersion,
          JSON.stringify(snapshot.state),
        ],
      );
    },

    async load(streamId, machineVersion, atOrBelow = 2147483647) {
      const { rows } = await pool.query<Snapshot>(
        `select stream_id as "streamId", version, machine_version as "machineVersion", state
         from snapshots
         where stream_id = $1 and machine_version = $2 and version <= $3
         order by version desc limit 1`,
        [streamId, machineVersion, atOrBelow],
      );
      return rows[0];
    },
  };
}
