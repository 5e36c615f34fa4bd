/** time_travel_ms: the exact state of a long stream at a random version (snapshots every 100). */
import { randomUUID } from 'node:crypto';
import { createRuntime } from '../../src/runtime/actor-host.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createSnapshotStore } from '../../src/store/snapshots.ts';
import { history, taskCommands, writeStream } from '../fixtures.ts';
import {
  percentile,
  round,
  scratchDatabase,
  type BenchContext,
  type ScenarioResult,
} from '../lib.ts';

export async function timeTravelScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const length = ctx.quick ? 2_000 : 10_000;
  const samples = ctx.quick ? 100 : 500;
  const db = await scratchDatabase(ctx, 4);
  try {
    const store = createEventStore(db.pool);
    const snapshots = createSnapshotStore(db.pool);
    const id = randomUUID();
    await writeStream(store, snapshots, 'task', id, history('task', taskCommands(length - 5), 100));
    const runtime = createRuntime({ pool: db.pool, store, snapshots });
    for (let i = 0; i < 20; i++)
      await runtime.loadAt('task', id, 1 + Math.floor(Math.random() * length)); // warm-up
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const version = 1 + Math.floor(Math.random() * length);
      const t = performance.now();
      await runtime.loadAt('task', id, version);
      times.push(performance.now() - t);
    }
    const json = {
      p50: round(percentile(times, 50)),
      p99: round(percentile(times, 99)),
      stream_events: length,
      samples,
    };
    return {
      json: { time_travel_ms: json },
      lines: [
        {
          metric: `time travel p50 (ms, ${length.toLocaleString('en')}-event stream)`,
          value: String(json.p50),
          goal: '≤ 5 ms',
        },
        { metric: 'time travel p99 (ms)', value: String(json.p99) },
      ],
    };
  } finally {
    await db.drop();
  }
}
