/**
 * lifecycle: tasks/s from creation to `completed` on the scripted agent with nothing to do
 * (created → claimed → started → completed, every transition an event, every read table
 * kept inline), against graphile-worker running as many no-op jobs at the same concurrency.
 * Both: 8 parallel creators in the same process as the worker, fresh database per run.
 */
import { randomUUID } from 'node:crypto';
import { startGraphile } from '../graphile.ts';
import {
  benchNode,
  CONCURRENCY,
  median,
  round,
  scratchDatabase,
  spread,
  waitFor,
  type BenchContext,
  type ScenarioResult,
} from '../lib.ts';

const CREATORS = 8;

async function createInParallel(count: number, create: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CREATORS }, async () => {
      while (next < count) await create(next++);
    }),
  );
}

async function boocoderRun(ctx: BenchContext, count: number) {
  const db = await scratchDatabase(ctx, 24);
  try {
    const node = await benchNode(db);
    const started = performance.now();
    await createInParallel(count, () =>
      node.runtime.send('task', randomUUID(), {
        type: 'task.created',
        input: '',
        at: new Date().toISOString(),
      }),
    );
    await waitFor(async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        `select count(*)::int as n from tasks where state = 'completed'`,
      );
      return rows[0]!.n === count;
    }, 600_000);
    const seconds = (performance.now() - started) / 1000;
    await node.stop(1000);
    const { rows } = await db.pool.query<{ events: number; bytes: number }>(
      `select count(*)::float8 / $1 as events, sum(pg_column_size(e.*))::float8 / $1 as bytes
       from events e where stream_type = 'task'`,
      [count],
    );
    return { perSecond: count / seconds, events: rows[0]!.events, bytes: rows[0]!.bytes };
  } finally {
    await db.drop();
  }
}

async function graphileRun(ctx: BenchContext, count: number) {
  const db = await scratchDatabase(ctx, 2);
  try {
    let done = 0;
    const queue = await startGraphile(db.url, CONCURRENCY, () => done++);
    const started = performance.now();
    await createInParallel(count, () => queue.utils.addJob('noop', {}));
    await waitFor(async () => {
      if (done < count) return false;
      const { rows } = await db.pool.query<{ n: number }>(
        'select count(*)::int as n from graphile_worker.jobs',
      );
      return rows[0]!.n === 0;
    }, 600_000);
    const seconds = (performance.now() - started) / 1000;
    await queue.stop();
    return count / seconds;
  } finally {
    await db.drop();
  }
}

export async function lifecycleScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const count = ctx.quick ? 400 : 10_000;
  // Two full runs: at ~100 tasks/s a 10,000-task run is the suite's longest step.
  const runs = 2;
  await boocoderRun(ctx, Math.min(count, 500)); // warm-up
  await graphileRun(ctx, Math.min(count, 500));
  const ours: Awaited<ReturnType<typeof boocoderRun>>[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < runs; i++) {
    ctx.log(`lifecycle run ${i + 1}/${runs} (${count} tasks)`);
    ours.push(await boocoderRun(ctx, count));
    theirs.push(await graphileRun(ctx, count));
  }
  const tasksPerS = median(ours.map((r) => r.perSecond));
  const jobsPerS = median(theirs);
  return {
    json: {
      lifecycle: {
        tasks: count,
        concurrency: CONCURRENCY,
        tasks_per_s: round(tasksPerS, 0),
        events_per_task: round(median(ours.map((r) => r.events)), 2),
        bytes_per_task: round(median(ours.map((r) => r.bytes)), 0),
        ratio_to_graphile: round(tasksPerS / jobsPerS, 3),
        spread_pct: round(spread(ours.map((r) => r.perSecond)), 1),
        runs: ours.map((r) => round(r.perSecond, 0)),
      },
      graphile_worker: {
        jobs_per_s: round(jobsPerS, 0),
        spread_pct: round(spread(theirs), 1),
        runs: theirs.map((x) => round(x, 0)),
      },
    },
    lines: [
      {
        metric: `lifecycle (tasks/s, ${count}, conc ${CONCURRENCY})`,
        value: round(tasksPerS, 0).toLocaleString('en'),
        reference: `graphile-worker ${round(jobsPerS, 0).toLocaleString('en')}`,
        ratio: `${round(tasksPerS / jobsPerS, 2)}×`,
        spread: `±${round(spread(ours.map((r) => r.perSecond)), 1)}%`,
        goal: '≥ 1.0×',
      },
      {
        metric: 'log written per task',
        value: `${round(median(ours.map((r) => r.events)), 1)} events, ${round(median(ours.map((r) => r.bytes)), 0)} B`,
      },
    ],
  };
}
