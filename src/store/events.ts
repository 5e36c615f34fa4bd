/**
 * The event log: append with optimistic concurrency, read one stream, read everything
 * in a gap-safe global order.
 */
import type pg from 'pg';
import { ConcurrencyError, ValidationError } from '../errors.ts';
import type { Queryable } from './db.ts';
import { createNotifier, eventsPayload, type Notifier } from './notifier.ts';
import type { Checkpoint, NewEvent, StoredEvent, StreamRef, StreamType } from './types.ts';
import { START } from './types.ts';
import { checkEvents, checkExpectedVersion, checkStream, isUuid } from './validate-event.ts';

export interface AppendResult {
  stream: StreamRef;
  /** The stream's version after this append. */
  version: number;
  events: StoredEvent[];
}

export interface ReadStreamOptions {
  fromVersion?: number;
  toVersion?: number;
}

export interface ReadAllOptions {
  after?: Checkpoint;
  limit?: number;
  streamTypes?: readonly StreamType[];
}

export interface ReadAllResult {
  events: StoredEvent[];
  /** Pass back as `after` to continue; unchanged when nothing new was visible. */
  checkpoint: Checkpoint;
}

// The head CTE moves the stream's version with a compare-and-set; the events are only
// inserted if it matched. One statement, so one round trip and atomic without a caller's
// transaction; inside one it simply joins it. The NOTIFY 'events' hint (payload
// `<stream id>:<new version>`, so a listener can tell its own writes from others') goes out
// after the commit, batched (notifier.ts): by the store for its own commits, by the caller
// for appends made in the caller's transaction.
const NEW_STREAM_HEAD = `
  insert into streams (stream_id, stream_type, version)
  select $1, $2, $3 where $4::int = 0
  on conflict do nothing
  returning stream_id`;

const EXISTING_STREAM_HEAD = `
  update streams set version = $3, updated_at = clock_timestamp()
  where stream_id = $1 and stream_type = $2 and version = $4
  returning stream_id`;

const appendSql = (head: string, alongside: readonly string[] = []) => `
  with head as (${head}),
  appended as (
    insert into events (stream_type, stream_id, version, type, data, meta)
    select $2, $1, ($4::int + e.ord)::int, e.type, e.data, e.meta
    from unnest($5::text[], $6::jsonb[], $7::jsonb[]) with ordinality as e(type, data, meta, ord)
    where ${APPENDED}
    returning position, tx_id, version, created_at
  )${alongside.map((clause) => `,\n  ${clause}`).join('')}
  select position, tx_id, version, created_at from appended order by version`;

/** True in an append statement once the version check has passed. */
const APPENDED = 'exists (select 1 from head)';

const APPEND_NEW = appendSql(NEW_STREAM_HEAD);
const APPEND_EXISTING = appendSql(EXISTING_STREAM_HEAD);

/**
 * Writes to ride in the append's own statement (WITH members, done only if the append is),
 * so that a single event and its read rows commit in one round trip without a transaction.
 */
export type Alongside = (
  firstParam: number,
  appended: string,
) => { clauses: string[]; params: unknown[] };

/**
 * The gap-safe horizon: every transaction id below it is finished, so no event below it can
 * still appear. It is the oldest transaction still running as of this statement's snapshot —
 * except those known to run in another database, which cannot write to our log. (The plain
 * `pg_snapshot_xmin` is cluster-wide: a long transaction in any other database would stall
 * every reader here.) A running transaction we cannot place (another role's, hidden from
 * pg_stat_activity; one that ended since the snapshot) counts as ours: the horizon only ever
 * errs low. xids are compared on their low 32 bits, which is exact within the running set.
 */
export const SAFE_HORIZON = `(
  select coalesce(
    min(x) filter (where (x::text::bigint % 4294967296) not in (
      select a.backend_xid::text::bigint from pg_stat_activity a
      where a.backend_xid is not null and a.datname is distinct from current_database())),
    pg_snapshot_xmax(pg_current_snapshot()))
  from (select pg_snapshot_xip(pg_current_snapshot()) as x) running)`;

const EVENT_COLUMNS = `position, tx_id as "txId", stream_type as "streamType", stream_id as "streamId",
  version, type, data, meta, created_at as "createdAt"`;

export interface EventStore {
  append(
    stream: StreamRef,
    expectedVersion: number,
    events: readonly NewEvent[],
    tx?: pg.PoolClient,
    options?: { alongside?: Alongside; quiet?: boolean },
  ): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions, db?: Queryable): Promise<StoredEvent[]>;
  readAll(options?: ReadAllOptions): Promise<ReadAllResult>;
  /** The stream's current version, 0 when it does not exist. */
  streamVersion(streamId: string, db?: Queryable): Promise<number>;
  /** The highest position written so far (0 for an empty log). */
  headPosition(): Promise<number>;
}

export function createEventStore(
  pool: pg.Pool,
  notifier: Notifier = createNotifier(pool),
): EventStore {
  async function streamHead(db: Queryable, streamId: string) {
    const { rows } = await db.query<{ stream_type: StreamType; version: number }>(
      'select stream_type, version from streams where stream_id = $1',
      [streamId],
    );
    return rows[0];
  }

  return {
    async append(stream, expectedVersion, events, tx, options = {}) {
      checkStream(stream);
      checkExpectedVersion(expectedVersion);
      checkEvents(stream, events);
      const db: Queryable = tx ?? pool;
      const next = expectedVersion + events.length;
      const params: unknown[] = [
        stream.id,
        stream.type,
        next,
        expectedVersion,
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.meta ?? {})),
      ];
      const head = expectedVersion === 0 ? NEW_STREAM_HEAD : EXISTING_STREAM_HEAD;
      let sql = expectedVersion === 0 ? APPEND_NEW : APPEND_EXISTING;
      if (options.alongside) {
        const extra = options.alongside(params.length + 1, APPENDED);
        sql = appendSql(head, extra.clauses);
        params.push(...extra.params);
      }
      const { rows } = await db.query<{
        position: number;
        tx_id: number;
        version: number;
        created_at: Date;
      }>(sql, params);
      // Committed already when there is no caller's transaction: say so.
      if (rows.length > 0 && !tx && !options.quiet)
        notifier.notify('events', [eventsPayload(stream.id, next)]);
      if (rows.length === 0) {
        const head = await streamHead(db, stream.id);
        if (head && head.stream_type !== stream.type) {
          throw new ValidationError(
            `stream ${stream.id} is a ${head.stream_type} stream, not ${stream.type}`,
          );
        }
        throw new ConcurrencyError(stream.id, expectedVersion, head?.version ?? 0);
      }
      return {
        stream,
        version: next,
        events: rows.map((row, i) => ({
          position: row.position,
          txId: row.tx_id,
          streamType: stream.type,
          streamId: stream.id,
          version: row.version,
          type: events[i]!.type,
          data: events[i]!.data,
          meta: events[i]!.meta ?? {},
          createdAt: row.created_at,
        })),
      };
    },

    async readStream(streamId, options = {}, db = pool) {
      if (!isUuid(streamId))
        throw new ValidationError(`stream id must be a UUID, got ${JSON.stringify(streamId)}`);
      const from = options.fromVersion ?? 1;
      const to = options.toVersion ?? 2147483647;
      const { rows } = await db.query<StoredEvent>(
        `select ${EVENT_COLUMNS} from events
         where stream_id = $1 and version between $2 and $3 order by version`,
        [streamId, from, to],
      );
      return rows;
    },

    async readAll(options = {}) {
      const after = options.after ?? START;
      const limit = options.limit ?? 1000;
      if (!Number.isSafeInteger(limit) || limit < 1)
        throw new ValidationError('limit must be a positive integer');
      // Only transactions older than every one still running are final: a row below the
      // horizon can no longer appear, so a checkpoint past it is never revisited.
      const { rows } = await pool.query<StoredEvent>(
        `select ${EVENT_COLUMNS} from events
         where (tx_id, position) > ($1::text::xid8, $2::bigint)
           and tx_id < ${SAFE_HORIZON}
           and ($4::text[] is null or stream_type = any($4::text[]))
         order by tx_id, position
         limit $3`,
        [after.txId, after.position, limit, options.streamTypes ?? null],
      );
      const last = rows.at(-1);
      return {
        events: rows,
        checkpoint: last ? { txId: last.txId, position: last.position } : after,
      };
    },

    async streamVersion(streamId, db = pool) {
      return (await streamHead(db, streamId))?.version ?? 0;
    },

    async headPosition() {
      const { rows } = await pool.query<{ head: number }>(
        'select coalesce(max(position), 0)::bigint as head from events',
      );
      return rows[0]!.head;
    },
  };
}
