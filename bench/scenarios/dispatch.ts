/**
 * dispatch_latency_ms: at idle (one task every 50 ms), the time from the commit of a task's
 * creation to its agent starting, against graphile-worker's add_job → task function start.
 * Measured in one process, on one clock.
 */
import { randomUUID } from 'node:crypto';
import type { Agent } from '../../src/adapters/agent.ts';
import { startGraphile } from '../graphile.ts';
import {
  benchNode,
  CONCURRENCY,
  median,
  percentile,
  round,
  scratchDatabase,
  sleep,
  waitFor,
  type BenchContext,
  type ScenarioResult,
} from '../lib.ts';

async function ours(ctx: BenchContext, count: number, intervalMs: number): Promise<number[]> {
  const db = await scratchDatabase(ctx);
  try {
    const started = new Map<string, number>();
    const probe: Agent = {
      name: 'probe',
      executionPath: 'scripted',
      run: ({ taskId }) => {
        started.set(taskId, performance.now());
        return Promise.resolve({ status: 'completed', summary: 'ok' });
      },
    };
    const node = await benchNode(db, new Map([['probe', probe]]));
    const committed = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      await node.runtime.send('task', id, {
        type: 'task.created',
        input: '',
        agent: 'probe',
        at: new Date().toISOString(),
      });
      committed.set(id, performance.now());
      await sleep(intervalMs);
    }
    await waitFor(() => Promise.resolve(started.size === count), 60_000);
    await node.stop(1000);
    return [...committed].map(([id, t]) => started.get(id)! - t);
  } finally {
    await db.drop();
  }
}

async function graphile(ctx: BenchContext, count: number, intervalMs: number): Promise<number[]> {
  const db = await scratchDatabase(ctx, 2);
  try {
    const started = new Map<string, number>();
    const queue = await startGraphile(db.url, CONCURRENCY, (payload) => {
      started.set((payload as { id: string }).id, performance.now());
    });
    const committed = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      await queue.utils.addJob('noop', { id });
      committed.set(id, performance.now());
      await sleep(intervalMs);
    }
    await waitFor(() => Promise.resolve(started.size === count), 60_000);
    await queue.stop();
    return [...committed].map(([id, t]) => started.get(id)! - t);
  } finally {
    await db.drop();
  }
}

export async function dispatchScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const count = ctx.quick ? 40 : 200;
  const interval = 50;
  const runs = ctx.quick ? 1 : 2;
  await ours(ctx, 10, interval); // warm-up
  await graphile(ctx, 10, interval);
  const a: number[][] = [];
  const b: number[][] = [];
  for (let i = 0; i < runs; i++) {
    ctx.log(`dispatch latency run ${i + 1}/${runs} (${count} tasks, one per ${interval} ms)`);
    a.push(await ours(ctx, count, interval));
    b.push(await graphile(ctx, count, interval));
  }
  const p = (runsOf: number[][], q: number) => median(runsOf.map((r) => percentile(r, q)));
  const json = {
    p50: round(p(a, 50)),
    p99: round(p(a, 99)),
    graphile_p50: round(p(b, 50)),
    graphile_p99: round(p(b, 99)),
    tasks: count,
    interval_ms: interval,
  };
  return {
    json: { dispatch_latency_ms: json },
    lines: [
      {
        metric: 'dispatch latency p50 (ms)',
        value: String(json.p50),
        reference: `graphile-worker ${json.graphile_p50}`,
        ratio: `${round(json.p50 / json.graphile_p50, 2)}×`,
        goal: '≤ graphile, ≤ 5 ms',
      },
      {
        metric: 'dispatch latency p99 (ms)',
        value: String(json.p99),
        reference: `graphile-worker ${json.graphile_p99}`,
        ratio: `${round(json.p99 / json.graphile_p99, 2)}×`,
        goal: '≤ 20 ms',
      },
    ],
  };
}
