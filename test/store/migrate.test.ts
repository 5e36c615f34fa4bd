import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MigrationError } from '../../src/errors.ts';
import { loadMigrations, migrate, MIGRATIONS_DIR } from '../../src/store/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const dropped: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(dropped.splice(0).map((d) => d.drop()));
});

async function emptyDatabase() {
  const db = await createTestDatabase({ fromTemplate: false, poolSize: 2 });
  dropped.push(db);
  return db;
}

async function applied(db: TestDatabase) {
  const { rows } = await db.pool.query<{ version: number }>(
    'select version from boocoder_migrations order by version',
  );
  return rows.map((r) => r.version);
}

describe('migrations', () => {
  it('applies each migration exactly once when two runners start at once, and a re-run is a no-op', async () => {
    const db = await emptyDatabase();
    const all = (await loadMigrations()).map((m) => m.version);
    const [a, b] = await Promise.all([migrate(db.url), migrate(db.url)]);
    expect([...a.applied, ...b.applied].sort((x, y) => x - y)).toEqual(all);
    expect(await applied(db)).toEqual(all);
    const again = await migrate(db.url);
    expect(again.applied).toEqual([]);
    expect(again.current).toBe(all.length);
    // The schema really is there.
    const { rows } = await db.pool.query(`select to_regclass('events') as t`);
    expect(rows[0]).toEqual({ t: 'events' });
  });

  it('refuses a database migrated by a newer boocoder', async () => {
    const db = await emptyDatabase();
    await migrate(db.url);
    await db.pool.query(
      `insert into boocoder_migrations (version, name, checksum) values (999, 'future', 'x')`,
    );
    const error = await migrate(db.url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/newer boocoder/);
  });

  it('refuses a migration edited after it was applied, and rolls back a failing one', async () => {
    const db = await emptyDatabase();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'boocoder-migrations-'));
    try {
      await fs.copyFile(
        path.join(MIGRATIONS_DIR, '0001_events.sql'),
        path.join(dir, '0001_events.sql'),
      );
      await fs.writeFile(path.join(dir, '0002_extra.sql'), 'create table extra (id int);');
      expect((await migrate(db.url, dir)).applied).toEqual([1, 2]);

      await fs.writeFile(path.join(dir, '0002_extra.sql'), 'create table extra (id bigint);');
      await expect(migrate(db.url, dir)).rejects.toThrow(/changed after it was applied/);
      await fs.writeFile(path.join(dir, '0002_extra.sql'), 'create table extra (id int);');

      // A failing migration leaves neither its half-done schema nor its record.
      await fs.writeFile(
        path.join(dir, '0003_broken.sql'),
        'create table half (id int); select 1/0;',
      );
      await expect(migrate(db.url, dir)).rejects.toBeInstanceOf(MigrationError);
      expect(await applied(db)).toEqual([1, 2]);
      const { rows } = await db.pool.query(`select to_regclass('half') as t`);
      expect(rows[0]).toEqual({ t: null });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects badly named or gapped migration files', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'boocoder-migrations-'));
    try {
      await fs.writeFile(path.join(dir, '0001_a.sql'), 'select 1;');
      await fs.writeFile(path.join(dir, '0003_c.sql'), 'select 1;');
      await expect(loadMigrations(dir)).rejects.toThrow(/without gaps/);
      await fs.rm(path.join(dir, '0003_c.sql'));
      await fs.writeFile(path.join(dir, '2_b.sql'), 'select 1;');
      await expect(loadMigrations(dir)).rejects.toThrow(/0001_name.sql/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
