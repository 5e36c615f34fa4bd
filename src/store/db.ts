/**
 * Connections to PostgreSQL: the pool, the transaction helper and the one place that
 * decides how PostgreSQL's wide integers arrive in JavaScript.
 */
import pg from 'pg';

/** Anything that runs a query: the pool, or a client inside a caller's transaction. */
export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

const INT8_OID = 20;
const XID8_OID = 5069;

/**
 * Positions (bigint) and transaction ids (xid8) as plain numbers: exact up to 2^53,
 * which a log would reach after ~285 years at a million events a second, and JSON-safe.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === XID8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

export function createPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, types });
  // An idle client losing its connection (server restart) must not crash the process;
  // the pool drops it and the next checkout connects afresh.
  pool.on('error', () => undefined);
  return pool;
}

export function createClient(connectionString: string): pg.Client {
  return new pg.Client({ connectionString, types });
}

export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Create `database` on the server behind `adminUrl` unless it exists (safe when raced). */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = createClient(adminUrl);
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [
      database,
    ]);
    if (rowCount) return;
    await client.query(`create database ${client.escapeIdentifier(database)}`).catch((error) => {
      // 42P04 duplicate_database, 23505: another process created it first.
      const code = (error as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw error;
    });
  } finally {
    await client.end();
  }
}
