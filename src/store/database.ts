/**
 * Opens boocoder's database: the one named by DATABASE_URL, or an embedded PostgreSQL
 * under the data folder, started on demand; then brings its schema up to date.
 */
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { createPool, ensureDatabase } from './db.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.ts';
import { migrate } from './migrate.ts';

export const EMBEDDED_DATABASE = 'boocoder';

export interface Database {
  url: string;
  pool: pg.Pool;
  /** Set when this process runs on an embedded PostgreSQL. */
  embedded: EmbeddedPostgres | undefined;
  close(): Promise<void>;
}

/** The connection string to use, starting the embedded PostgreSQL when none is configured. */
export async function resolveDatabaseUrl(
  config: Config,
): Promise<{ url: string; embedded: EmbeddedPostgres | undefined }> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: undefined };
  const embedded = await startEmbeddedPostgres({
    dir: path.join(config.dataDir, 'pg'),
    port: config.embeddedPgPort,
    durable: true,
  });
  await ensureDatabase(embedded.adminUrl, EMBEDDED_DATABASE);
  return { url: embedded.urlFor(EMBEDDED_DATABASE), embedded };
}

export async function openDatabase(config: Config): Promise<Database> {
  const { url, embedded } = await resolveDatabaseUrl(config);
  try {
    await migrate(url);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const pool = createPool(url, config.poolSize);
  return {
    url,
    pool,
    embedded,
    async close() {
      await pool.end();
      await embedded?.stop();
    },
  };
}
