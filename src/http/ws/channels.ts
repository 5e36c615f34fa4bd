/**
 * WS channels and which events belong to them. `task:<id>` is a task's own events and its
 * pending changes'; `run:<id>` a flow run's and its tasks'; `project:<id>` everything of a
 * project's tasks, runs and changes; `inbox` the events that open or close an inbox item;
 * `events` everything. Which task, run or project an event belongs to is looked up in the
 * read tables (those ids never change once set), once per batch.
 */
import type pg from 'pg';
import { humanInboxProjection } from '../../projections/human-inbox.ts';
import type { StoredEvent } from '../../store/types.ts';

const CHANNEL =
  /^(?:(task|run|project):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|inbox|events)$/;

export function isChannel(value: unknown): value is string {
  return typeof value === 'string' && CHANNEL.test(value);
}

/** The task, run and project a stream belongs to (as far as it belongs to any). */
export interface Owner {
  taskId: string | null;
  runId: string | null;
  projectId: string | null;
}

const OWNERS = `
  select id, id as task_id, run_id, project_id from tasks where id = any($1::uuid[])
  union all
  select id, null, id, project_id from flow_runs where id = any($1::uuid[])
  union all
  select c.id, c.task_id, t.run_id, t.project_id
  from pending_changes c left join tasks t on t.id = c.task_id where c.id = any($1::uuid[])`;

const CACHE_LIMIT = 10_000;

/** Owners by stream id, cached (they never change), bounded (oldest dropped first). */
export function createOwnerLookup(pool: pg.Pool) {
  const cache = new Map<string, Owner>();
  return async function owners(events: readonly StoredEvent[]): Promise<Map<string, Owner>> {
    const missing = [
      ...new Set(
        events
          .filter((e) => e.streamType !== 'agent_session' && !cache.has(e.streamId))
          .map((e) => e.streamId),
      ),
    ];
    if (missing.length) {
      const { rows } = await pool.query<{
        id: string;
        task_id: string | null;
        run_id: string | null;
        project_id: string | null;
      }>(OWNERS, [missing]);
      for (const r of rows) {
        cache.set(r.id, { taskId: r.task_id, runId: r.run_id, projectId: r.project_id });
        if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
      }
    }
    return cache;
  };
}

/** The channels of `subscribed` that `event` belongs to. */
export function matchingChannels(
  subscribed: ReadonlySet<string>,
  event: StoredEvent,
  owner: Owner | undefined,
): string[] {
  const out: string[] = [];
  for (const channel of subscribed) {
    if (channel === 'events') out.push(channel);
    else if (channel === 'inbox') {
      if (humanInboxProjection.keysOf(event).length > 0) out.push(channel);
    } else {
      const [kind, id] = channel.split(':');
      const hit =
        kind === 'task'
          ? event.streamId === id || owner?.taskId === id
          : kind === 'run'
            ? owner?.runId === id
            : owner?.projectId === id;
      if (hit) out.push(channel);
    }
  }
  return out;
}
