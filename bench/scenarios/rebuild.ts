/** rebuild: events/s of `boocoder rebuild` over a realistic mix (tasks with output, runs with steps). */
import { randomUUID } from 'node:crypto';
import { rebuildProjections } from '../../src/projections/rebuild.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createSnapshotStore } from '../../src/store/snapshots.ts';
import { history, runCommands, taskCommands, writeStream } from '../fixtures.ts';
import {
  median,
  round,
  scratchDatabase,
  spread,
  type BenchContext,
  type ScenarioResult,
} from '../lib.ts';

export async function rebuildScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const target = ctx.quick ? 10_000 : 100_000;
  const db = await scratchDatabase(ctx, 8);
  try {
    const store = createEventStore(db.pool);
    const snapshots = createSnapshotStore(db.pool);
    ctx.log(`rebuild: writing ${target} events`);
    // Per unit: a 4-step run (9 events) and 4 tasks of 10 events each: ~49 events.
    let written = 0;
    while (written < target) {
      const jobs: Promise<void>[] = [];
      for (let k = 0; k < 8 && written < target; k++) {
        const run = history('flow_run', runCommands(4));
        jobs.push(writeStream(store, snapshots, 'flow_run', randomUUID(), run));
        written += run.events.length;
        for (let t = 0; t < 4; t++) {
          const task = history('task', taskCommands(5));
          jobs.push(writeStream(store, snapshots, 'task', randomUUID(), task));
          written += task.events.length;
        }
      }
      await Promise.all(jobs);
    }
    const runs = ctx.quick ? 2 : 3;
    await rebuildProjections(db.pool); // warm-up
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      ctx.log(`rebuild run ${i + 1}/${runs}`);
      const r = await rebuildProjections(db.pool);
      rates.push(r.events / (r.ms / 1000));
    }
    return {
      json: {
        rebuild: {
          events: written,
          events_per_s: round(median(rates), 0),
          spread_pct: round(spread(rates), 1),
        },
      },
      lines: [
        {
          metric: `rebuild (events/s, ${written.toLocaleString('en')} events)`,
          value: round(median(rates), 0).toLocaleString('en'),
          spread: `±${round(spread(rates), 1)}%`,
          goal: '≥ 100,000',
        },
      ],
    };
  } finally {
    await db.drop();
  }
}
