/** What every benchmark scenario shares: sizes, repeated runs, statistics, scratch databases. */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Agent } from '../src/adapters/agent.ts';
import { loadConfig } from '../src/config.ts';
import { startNode, type Node } from '../src/runtime/node.ts';
import { createClient, createPool } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';

export interface BenchContext {
  quick: boolean;
  /** A maintenance connection string: scratch databases are created beside it. */
  adminUrl: string;
  log(message: string): void;
}

export interface Scratch {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one scenario, dropped afterwards. */
export async function scratchDatabase(ctx: BenchContext, poolSize = 12): Promise<Scratch> {
  const name = `boocoder_bench_${randomUUID().slice(0, 8)}`;
  const admin = createClient(ctx.adminUrl);
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = Object.assign(new URL(ctx.adminUrl), { pathname: `/${name}` }).toString();
  await migrate(url);
  const pool = createPool(url, poolSize);
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      const a = createClient(ctx.adminUrl);
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

/** Spread of repeated runs as ± half the min–max range relative to the median, in %. */
export const spread = (xs: number[]) =>
  xs.length < 2 ? 0 : ((Math.max(...xs) - Math.min(...xs)) / 2 / median(xs)) * 100;

export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `probe` is true, polling every `everyMs`. */
export async function waitFor(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('benchmark timed out waiting');
    await sleep(everyMs);
  }
}

/** One row of the printed table. */
export interface Line {
  metric: string;
  value: string;
  reference?: string;
  ratio?: string;
  spread?: string;
  goal?: string;
}

export interface ScenarioResult {
  json: Record<string, unknown>;
  lines: Line[];
}

/** Worker concurrency of every queue benchmark, ours and the reference alike. */
export const CONCURRENCY = 8;

/** A boocoder node (runtime + worker) on a scratch database, as `boocoder worker` would run. */
export function benchNode(db: Scratch, agents?: Map<string, Agent>): Promise<Node> {
  const config = loadConfig({
    DATABASE_URL: db.url,
    BOOCODER_CONCURRENCY: String(CONCURRENCY),
    BOOCODER_WORKER_ID: 'bench',
  });
  return startNode(
    config,
    { url: db.url, pool: db.pool, embedded: undefined, close: () => Promise.resolve() },
    { worker: true, ...(agents ? { agents } : {}) },
  );
}
