import type pg from 'pg';
import { inlineProjections } from '../../src/projections/inline.ts';
import type { Projection } from '../../src/projections/types.ts';
import { createRuntime, type RuntimeOptions } from '../../src/runtime/actor-host.ts';
import { changeEffects } from '../../src/runtime/changes.ts';
import { flowEffects } from '../../src/runtime/flows.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createSnapshotStore } from '../../src/store/snapshots.ts';

/** A runtime wired as the server wires it: inline projections and flow effects. */
export function serverLikeRuntime(
  pool: pg.Pool,
  options: Partial<RuntimeOptions> & { projections?: readonly Projection[] } = {},
) {
  const { projections, ...rest } = options;
  return createRuntime({
    pool,
    store: createEventStore(pool),
    snapshots: createSnapshotStore(pool),
    effects: { ...flowEffects(), ...changeEffects() },
    ...inlineProjections(projections ? { projections } : {}),
    ...rest,
  });
}

export const READ_TABLES = {
  tasks: 'id',
  flow_runs: 'id',
  flow_steps: 'run_id, step_id',
  agent_sessions: 'id',
  pending_changes: 'id',
  human_inbox: 'id',
} as const;

/** Every read table as JSON rows in key order: for comparing inline with rebuilt. */
export async function dumpReadTables(pool: pg.Pool): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, key] of Object.entries(READ_TABLES)) {
    const { rows } = await pool.query<{ row: unknown }>(
      `select to_jsonb(t) as row from ${table} t order by ${key}`,
    );
    out[table] = rows.map((r) => r.row);
  }
  return out;
}
