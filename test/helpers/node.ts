/**
 * A worker node on a test database, as `boocoder worker` runs one (the database is the test's:
 * the node does not close it), and a wait for a task to end.
 */
import type pg from 'pg';
import type { Agent } from '../../src/adapters/agent.ts';
import { loadConfig } from '../../src/config.ts';
import { startNode, type Node } from '../../src/runtime/node.ts';
import type { TestDatabase } from './db.ts';

export function testNode(
  db: TestDatabase,
  env: Record<string, string>,
  agents?: ReadonlyMap<string, Agent>,
): Promise<Node> {
  const config = loadConfig({ DATABASE_URL: db.url, ...env });
  return startNode(
    config,
    { url: db.url, pool: db.pool, embedded: undefined, close: () => Promise.resolve() },
    { worker: true, ...(agents ? { agents } : {}) },
  );
}

export interface EndedTask {
  state: string;
  error: string | null;
  output_summary: string | null;
  execution_path: string;
  cost_tokens: string;
}

/** The task's row once it has ended (completed, failed or cancelled). */
export async function taskEnded(pool: pg.Pool, id: string, ms = 30_000): Promise<EndedTask> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { rows } = await pool.query<EndedTask>(
      'select state, error, output_summary, execution_path, cost_tokens from tasks where id = $1',
      [id],
    );
    if (rows[0] && ['completed', 'failed', 'cancelled'].includes(rows[0].state)) return rows[0];
    if (Date.now() > deadline) throw new Error(`task ${id} did not end`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
