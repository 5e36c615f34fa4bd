/**
 * Forward-only SQL migrations from `migrations/NNNN_name.sql`.
 *
 * Safe when several processes start at once: a session advisory lock lets one runner
 * apply while the others wait, then find nothing left to do. Each file runs in its own
 * transaction together with the row that records it. A database migrated by a newer
 * boocoder, or an applied file edited since, stops the start instead of running on a
 * schema we do not know.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError } from '../errors.ts';
import { createClient } from './db.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** Arbitrary but fixed: the advisory lock key all boocoder migrators agree on. */
const LOCK_KEY = 0x0b00c0de;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match)
      throw new MigrationError(`migration file name must look like 0001_name.sql: ${file}`);
    const sql = await fs.readFile(path.join(dir, file), 'utf8');
    const version = Number(match[1]);
    if (version !== migrations.length + 1) {
      throw new MigrationError(`migrations must be numbered 1, 2, 3… without gaps; found ${file}`);
    }
    migrations.push({
      version,
      name: match[2]!,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return migrations;
}

export interface MigrateResult {
  applied: number[];
  current: number;
}

export async function migrate(
  connectionString: string,
  dir = MIGRATIONS_DIR,
): Promise<MigrateResult> {
  const migrations = await loadMigrations(dir);
  const client = createClient(connectionString);
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`
      create table if not exists boocoder_migrations (
        version    int primary key,
        name       text not null,
        checksum   text not null,
        applied_at timestamptz not null default now()
      )`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'select version, name, checksum from boocoder_migrations order by version',
    );
    const known = migrations.length;
    const newest = rows.at(-1)?.version ?? 0;
    if (newest > known) {
      throw new MigrationError(
        `the database is at migration ${newest}, but this boocoder knows only up to ${known}: it was migrated by a newer boocoder; upgrade boocoder instead`,
        { details: { database_version: newest, known_version: known } },
      );
    }
    for (const row of rows) {
      const file = migrations[row.version - 1];
      if (file && file.checksum !== row.checksum) {
        throw new MigrationError(
          `migration ${row.version} (${row.name}) was changed after it was applied; migrations are forward-only, add a new one instead`,
        );
      }
    }
    const applied: number[] = [];
    for (const migration of migrations.slice(newest)) {
      try {
        await client.query('begin');
        await client.query(migration.sql);
        await client.query(
          'insert into boocoder_migrations (version, name, checksum) values ($1, $2, $3)',
          [migration.version, migration.name, migration.checksum],
        );
        await client.query('commit');
      } catch (cause) {
        await client.query('rollback').catch(() => undefined);
        throw new MigrationError(
          `migration ${migration.version} (${migration.name}) failed: ${(cause as Error).message}`,
          { cause },
        );
      }
      applied.push(migration.version);
    }
    return { applied, current: known };
  } finally {
    await client.query('select pg_advisory_unlock_all()').catch(() => undefined);
    await client.end();
  }
}
