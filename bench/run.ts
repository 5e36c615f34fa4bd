/**
 * `npm run bench [-- --quick] [--json FILE] [--only a,b]`: the benchmark suite. Runs against
 * DATABASE_URL or the embedded PostgreSQL (scratch databases are created beside it and
 * dropped), prints a table, and writes the figures as JSON. See bench/README.md.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createClient } from '../src/store/db.ts';
import { resolveDatabaseUrl } from '../src/store/database.ts';
import type { BenchContext, Line, ScenarioResult } from './lib.ts';
import { appendScenario } from './scenarios/append.ts';
import { dispatchScenario } from './scenarios/dispatch.ts';
import { lifecycleScenario } from './scenarios/lifecycle.ts';
import { memoryScenario } from './scenarios/memory.ts';
import { rebuildScenario } from './scenarios/rebuild.ts';
import { replayScenario } from './scenarios/replay.ts';
import { timeTravelScenario } from './scenarios/time-travel.ts';
import { wsScenario } from './scenarios/ws.ts';

const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<ScenarioResult>> = {
  append: appendScenario,
  lifecycle: lifecycleScenario,
  dispatch_latency: dispatchScenario,
  rebuild: rebuildScenario,
  time_travel: timeTravelScenario,
  replay: replayScenario,
  actor_memory: memoryScenario,
  ws: wsScenario,
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
  },
});
const only = values.only?.split(',').filter(Boolean);
for (const name of only ?? []) {
  if (!SCENARIOS[name])
    throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
}

function table(lines: Line[]): string {
  const headers = ['metric', 'value', 'reference (same run)', 'ratio', 'spread', 'goal'];
  const rows = lines.map((l) => [
    l.metric,
    l.value,
    l.reference ?? '',
    l.ratio ?? '',
    l.spread ?? '',
    l.goal ?? '',
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [
    fmt(headers),
    '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|',
    ...rows.map(fmt),
  ].join('\n');
}

const started = performance.now();
const config = loadConfig();
const { url, embedded } = await resolveDatabaseUrl(config);
try {
  const admin = createClient(url);
  await admin.connect();
  const { rows } = await admin.query<{ server_version: string }>('show server_version');
  await admin.end();
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres: rows[0]!.server_version,
    postgres_source: embedded ? 'embedded' : 'DATABASE_URL',
    mode: values.quick ? 'quick' : 'full',
  };
  console.log(
    `boocoder bench (${machine.mode}) on ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres} (${machine.postgres_source})`,
  );
  const ctx: BenchContext = {
    quick: values.quick,
    adminUrl: url,
    log: (m) => console.error(`  … ${m}`),
  };
  const json: Record<string, unknown> = { machine };
  const lines: Line[] = [];
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    if (only && !only.includes(name)) continue;
    const t = performance.now();
    console.error(`${name}…`);
    const result = await scenario(ctx);
    Object.assign(json, result.json);
    lines.push(...result.lines);
    console.error(`${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  json.duration_s = Number(((performance.now() - started) / 1000).toFixed(1));
  console.log(table(lines));
  console.log(`(${json.duration_s as number} s)`);
  if (values.json) {
    await fs.writeFile(values.json, JSON.stringify(json, null, 2) + '\n');
    console.log(`figures written to ${values.json}`);
  }
} finally {
  await embedded?.stop();
}
