/**
 * Dispatch latency at idle: one task every 50 ms, 200 tasks; for each, the time from the
 * commit of its creation to its agent starting, in one process (one clock). Prints p50/p99.
 *
 *   node --import tsx bench/dispatch-latency.ts [count] [interval_ms]
 *
 * Runs against DATABASE_URL (a fresh database is created beside it) or the embedded
 * PostgreSQL under .boocoder/.
 */
import { randomUUID } from 'node:crypto';
import type { Agent } from '../src/adapters/agent.ts';
import { loadConfig } from '../src/config.ts';
import { startNode } from '../src/runtime/node.ts';
import { createClient, createPool } from '../src/store/db.ts';
import { resolveDatabaseUrl } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';

const count = Number(process.argv[2] ?? 200);
const intervalMs = Number(process.argv[3] ?? 50);

const config = loadConfig();
const { url: baseUrl, embedded } = await resolveDatabaseUrl(config);
const name = `boocoder_bench_${randomUUID().slice(0, 8)}`;
const admin = createClient(baseUrl);
await admin.connect();
await admin.query(`create database ${name}`);
const url = Object.assign(new URL(baseUrl), { pathname: `/${name}` }).toString();
await migrate(url);
const pool = createPool(url, 10);

const started = new Map<string, number>();
const probe: Agent = {
  name: 'probe',
  executionPath: 'scripted',
  run: ({ taskId }) => {
    started.set(taskId, performance.now());
    return Promise.resolve({ status: 'completed', summary: 'ok' });
  },
};
const node = await startNode(
  { ...config, databaseUrl: url, pollMs: 2000 },
  { url, pool, embedded: undefined, close: () => pool.end() },
  { worker: true, agents: new Map([['probe', probe]]) },
);

const committed = new Map<string, number>();
for (let i = 0; i < count; i++) {
  const id = randomUUID();
  await node.runtime.send('task', id, {
    type: 'task.created',
    input: 'x',
    agent: 'probe',
    at: new Date().toISOString(),
  });
  committed.set(id, performance.now());
  await new Promise((r) => setTimeout(r, intervalMs));
}
const deadline = Date.now() + 30_000;
while (started.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

const latencies = [...committed]
  .filter(([id]) => started.has(id))
  .map(([id, t]) => started.get(id)! - t)
  .sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
console.log(
  JSON.stringify({
    tasks: count,
    started: latencies.length,
    p50_ms: +pct(50).toFixed(2),
    p99_ms: +pct(99).toFixed(2),
    max_ms: +latencies.at(-1)!.toFixed(2),
  }),
);

await node.stop(1000);
await pool.end();
await admin.query(`drop database ${name} with (force)`);
await admin.end();
await embedded?.stop();
