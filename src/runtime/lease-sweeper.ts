/**
 * Turns expired leases into `task.lease_expired` (back to pending, or failed once attempts
 * are spent). Runs in every worker process; two sweepers racing for one task is harmless:
 * the second finds it no longer expired (or already ended) and is refused.
 */
import { ConcurrencyError, IllegalStateError } from '../errors.ts';
import type pg from 'pg';
import type { Runtime } from './actor-host.ts';

const EXPIRED = `
  select id from tasks
  where state in ('running', 'blocked') and lease_expires_at < $1
  order by lease_expires_at
  limit $2`;

export async function sweepExpiredLeases(
  pool: pg.Pool,
  runtime: Runtime,
  now: () => Date,
  batch = 100,
): Promise<number> {
  const at = now();
  const { rows } = await pool.query<{ id: string }>(EXPIRED, [at.toISOString(), batch]);
  let expired = 0;
  for (const { id } of rows) {
    runtime.forget(id);
    try {
      await runtime.send('task', id, { type: 'task.lease_expired', at: at.toISOString() });
      expired++;
    } catch (error) {
      if (!(error instanceof IllegalStateError) && !(error instanceof ConcurrencyError))
        throw error;
    }
  }
  return expired;
}
