/**
 * Once per `npm test`: find a PostgreSQL (DATABASE_URL, else an embedded one kept under
 * .boocoder/test-pg with fsync off), migrate a template database, and hand both to the
 * test files, which each clone their own database from the template.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../src/config.ts';
import { createClient } from '../src/store/db.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/store/embedded-postgres.ts';
import { loadMigrations, migrate } from '../src/store/migrate.ts';
import { createHash } from 'node:crypto';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
    testRunId: string;
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.toString();
}

export default async function setup(project: TestProject) {
  const config = loadConfig();
  let embedded: EmbeddedPostgres | undefined;
  let adminUrl: string;
  if (config.databaseUrl) {
    adminUrl = config.databaseUrl;
  } else {
    embedded = await startEmbeddedPostgres({
      dir: path.join(config.dataDir, 'test-pg'),
      port: config.testPgPort,
      durable: false,
    });
    adminUrl = embedded.adminUrl;
  }

  // One template per set of migrations: reused across runs until a migration changes.
  const migrations = await loadMigrations();
  const hash = createHash('sha256')
    .update(migrations.map((m) => m.checksum).join())
    .digest('hex')
    .slice(0, 12);
  const template = `boocoder_tpl_${hash}`;
  const admin = createClient(adminUrl);
  await admin.connect();
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [
      template,
    ]);
    if (!rowCount) {
      // Built under a temporary name and renamed when complete, so a run that died half
      // way never leaves a half-migrated template behind.
      const building = `${template}_${randomBytes(4).toString('hex')}`;
      await admin.query(`create database ${building}`);
      await migrate(withDatabase(adminUrl, building));
      await admin.query(`alter database ${building} rename to ${template}`).catch(async (error) => {
        await admin.query(`drop database ${building}`);
        if ((error as { code?: string }).code !== '42P04') throw error;
      });
    }
  } finally {
    await admin.end();
  }

  const runId = randomBytes(4).toString('hex');
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);
  project.provide('testRunId', runId);

  return async () => {
    const client = createClient(adminUrl);
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>(
        `select datname from pg_database where datname like $1`,
        [`bt_${runId}_%`],
      );
      for (const { datname } of rows) {
        await client.query(
          `drop database if exists ${client.escapeIdentifier(datname)} with (force)`,
        );
      }
    } finally {
      await client.end();
    }
    await embedded?.stop();
  };
}
