/**
 * A fresh database per test file, cloned from the migrated template (fast: a file copy),
 * so files run in parallel without seeing each other's rows.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { inject } from 'vitest';
import { createClient, createPool } from '../../src/store/db.ts';

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export function urlFor(database: string): string {
  const url = new URL(inject('pgAdminUrl'));
  url.pathname = '/' + database;
  return url.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = createClient(inject('pgAdminUrl'));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `fromTemplate: false` gives an empty database (for migration tests). */
export async function createTestDatabase(
  options: { fromTemplate?: boolean; poolSize?: number } = {},
): Promise<TestDatabase> {
  const name = `bt_${inject('testRunId')}_${randomBytes(5).toString('hex')}`;
  await admin((c) =>
    c.query(
      options.fromTemplate === false
        ? `create database ${name}`
        : `create database ${name} template ${inject('pgTemplate')}`,
    ),
  );
  const url = urlFor(name);
  const pool = createPool(url, options.poolSize ?? 12);
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}
