/**
 * Claim up to `limit` pending tasks for `workerId`: lock them (and their stream heads)
 * with SKIP LOCKED, highest priority then oldest first, and record `task.claimed` for each
 * in the same transaction. Any number of processes can run this at once; each task goes to
 * exactly one. Locking the stream head too means a claim never waits on a writer of that
 * task (it skips it), so it cannot deadlock with one.
 */
import type { Runtime } from './actor-host.ts';

const CLAIMABLE = `
  select t.id, s.version from tasks t join streams s on s.stream_id = t.id
  where t.state = 'pending'
  order by t.priority desc, t.created_at, t.id
  limit $1
  for update of t, s skip locked`;

export async function claimPending(
  runtime: Runtime,
  workerId: string,
  limit: number,
  leaseMs: number,
  now: () => Date,
): Promise<string[]> {
  if (limit <= 0) return [];
  return runtime.transaction(async (tx, send) => {
    const { rows } = await tx.query<{ id: string; version: number }>(CLAIMABLE, [limit]);
    for (const { id, version } of rows) {
      // What this process remembers of the task may be stale (another worker had it): the
      // stream head we hold locked says which version to build on.
      if (runtime.knownVersion(id) !== version) runtime.forget(id);
      const at = now();
      await send('task', id, {
        type: 'task.claimed',
        worker_id: workerId,
        lease_expires_at: new Date(at.getTime() + leaseMs).toISOString(),
        at: at.toISOString(),
      });
    }
    return rows.map((r) => r.id);
  });
}
