/** actor_memory_bytes: heap per loaded idle actor, with many loaded in one runtime. */
import { randomUUID } from 'node:crypto';
import { createRuntime } from '../../src/runtime/actor-host.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createSnapshotStore } from '../../src/store/snapshots.ts';
import { at, history } from '../fixtures.ts';
import { round, scratchDatabase, type BenchContext, type ScenarioResult } from '../lib.ts';

const gc = (globalThis as { gc?: () => void }).gc;

export async function memoryScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const count = ctx.quick ? 1_000 : 10_000;
  const db = await scratchDatabase(ctx, 8);
  try {
    const store = createEventStore(db.pool);
    const ids = Array.from({ length: count }, () => randomUUID());
    // Idle actors: pending tasks (created, nothing since).
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(
        ids
          .slice(i, i + 50)
          .map((id) =>
            store.append(
              { type: 'task', id },
              0,
              history('task', [
                { type: 'task.created', input: 'review the change in src/api.ts', at: at() },
              ]).events,
            ),
          ),
      );
    }
    const runtime = createRuntime({
      pool: db.pool,
      store,
      snapshots: createSnapshotStore(db.pool),
    });
    if (!gc) ctx.log('memory: run node with --expose-gc for a precise figure');
    gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < ids.length; i += 50)
      await Promise.all(ids.slice(i, i + 50).map((id) => runtime.load('task', id)));
    gc?.();
    const after = process.memoryUsage().heapUsed;
    const perActor = (after - before) / count;
    if (runtime.liveActors !== count)
      throw new Error(`expected ${count} live actors, have ${runtime.liveActors}`);
    return {
      json: {
        actor_memory_bytes: { per_actor: round(perActor, 0), actors: count, precise: Boolean(gc) },
      },
      lines: [
        {
          metric: `memory per idle actor (${count.toLocaleString('en')} loaded)`,
          value: `${round(perActor, 0).toLocaleString('en')} B`,
          goal: '≤ 2 KB',
        },
      ],
    };
  } finally {
    await db.drop();
  }
}
