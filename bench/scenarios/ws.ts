/**
 * ws: the WS gateway, over a real socket. `ws_latency_ms`: p50/p99 from a task's creation
 * committing to its frame arriving at every one of C clients subscribed to `events`, one task
 * every 20 ms. `ws_catch_up`: events/s a client receives when it resumes N events behind.
 * Both depend on the gap-safe reader's horizon, which any open transaction on the same
 * PostgreSQL cluster holds back.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { buildApp } from '../../src/http/app.ts';
import { projectEvents } from '../../src/projections/project.ts';
import { createRuntime } from '../../src/runtime/actor-host.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createSnapshotStore } from '../../src/store/snapshots.ts';
import {
  median,
  percentile,
  round,
  scratchDatabase,
  sleep,
  waitFor,
  type BenchContext,
  type ScenarioResult,
} from '../lib.ts';

interface Frame {
  type: string;
  cursor?: string;
  event?: { stream_id: string };
}

async function client(url: string, after?: string) {
  const ws = new WebSocket(url);
  const arrivals = new Map<string, number>();
  let count = 0;
  let subscribed = false;
  ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as Frame;
    if (frame.type === 'subscribed') subscribed = true;
    if (frame.event) {
      count++;
      arrivals.set(frame.event.stream_id, performance.now());
    }
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ type: 'subscribe', channels: ['events'], ...(after ? { after } : {}) }));
  await waitFor(() => Promise.resolve(subscribed), 10_000, 5);
  return { ws, arrivals, count: () => count };
}

export async function wsScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const clients = ctx.quick ? 10 : 50;
  const tasks = ctx.quick ? 50 : 300;
  const backlog = ctx.quick ? 5_000 : 20_000;
  const db = await scratchDatabase(ctx, 8);
  const store = createEventStore(db.pool);
  const runtime = createRuntime({
    pool: db.pool,
    store,
    snapshots: createSnapshotStore(db.pool),
    inline: (tx, event) => projectEvents(tx, [event]),
  });
  const app = await buildApp(
    { pool: db.pool, store, version: 'bench', runtime, connectionString: db.url },
    { logLevel: 'silent' },
  );
  try {
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `${address.replace('http', 'ws')}/ws`;

    const latencyWith = async (count: number) => {
      ctx.log(`ws latency: ${count} client(s), ${tasks} tasks one per 20 ms`);
      const connected = await Promise.all(Array.from({ length: count }, () => client(url)));
      const committed = new Map<string, number>();
      // The reference: when the gap-safe reader itself first shows each event, polled every ms.
      const visible = new Map<string, number>();
      let polling = true;
      const poller = (async () => {
        let after = (await store.readAll({ limit: 1 })).checkpoint;
        after = (await store.readAll({ after, limit: 100_000 })).checkpoint;
        while (polling) {
          const read = await store.readAll({ after, limit: 1000 });
          for (const e of read.events) visible.set(e.streamId, performance.now());
          after = read.checkpoint;
          await sleep(1);
        }
      })();
      for (let i = 0; i < tasks; i++) {
        const id = randomUUID();
        await runtime.send('task', id, {
          type: 'task.created',
          input: '',
          at: new Date().toISOString(),
        });
        committed.set(id, performance.now());
        await sleep(20);
      }
      await waitFor(
        () => Promise.resolve(connected.every((c) => c.arrivals.size === tasks)),
        60_000,
      );
      polling = false;
      await poller;
      for (const c of connected) c.ws.close();
      return {
        frames: connected.flatMap((c) => [...committed].map(([id, t]) => c.arrivals.get(id)! - t)),
        horizon: [...committed].map(([id, t]) => (visible.get(id) ?? Number.NaN) - t),
      };
    };
    await latencyWith(1); // warm-up
    const { frames: single, horizon } = await latencyWith(1);
    const { frames: latencies } = await latencyWith(clients);
    const seen = horizon.filter((x) => !Number.isNaN(x));

    ctx.log(`ws catch-up: resuming ${backlog} events behind`);
    const start = (await store.readAll({ limit: 1 })).checkpoint;
    const stream = { type: 'task' as const, id: randomUUID() };
    for (let v = 0; v < backlog; v += 500) {
      await store.append(
        stream,
        v,
        Array.from({ length: 500 }, (_, i) => ({ type: 'task.noted', data: { n: v + i } })),
      );
    }
    const rates: number[] = [];
    for (let run = 0; run < (ctx.quick ? 1 : 3); run++) {
      const t = performance.now();
      const behind = await client(url, `${start.txId}:${start.position}`);
      await waitFor(() => Promise.resolve(behind.count() >= backlog), 120_000, 5);
      rates.push(behind.count() / ((performance.now() - t) / 1000));
      behind.ws.close();
    }

    const json = {
      ws_latency_ms: {
        p50: round(percentile(latencies, 50)),
        p99: round(percentile(latencies, 99)),
        one_client_p50: round(percentile(single, 50)),
        one_client_p99: round(percentile(single, 99)),
        horizon_p50: round(percentile(seen, 50)),
        horizon_p99: round(percentile(seen, 99)),
        clients,
        tasks,
      },
      ws_catch_up: { events_per_s: round(median(rates), 0), backlog },
    };
    return {
      json,
      lines: [
        {
          metric: `ws commit → frame p50 (ms, ${clients} clients)`,
          value: String(json.ws_latency_ms.p50),
          reference: `1 client ${json.ws_latency_ms.one_client_p50}; readAll sees it ${json.ws_latency_ms.horizon_p50}`,
          goal: '≤ 10 ms',
        },
        {
          metric: `ws commit → frame p99 (ms, ${clients} clients)`,
          value: String(json.ws_latency_ms.p99),
        },
        {
          metric: 'ws catch-up (events/s to one client)',
          value: String(json.ws_catch_up.events_per_s),
          goal: '≥ 20,000',
        },
      ],
    };
  } finally {
    await app.close();
    await db.drop();
  }
}
