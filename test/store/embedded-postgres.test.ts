import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/net.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/store/db.ts';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres.ts';

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = createClient(url);
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql)).rows;
  } finally {
    await client.end();
  }
}

// Under /tmp, not a private mkdtemp folder: when run as root the cluster runs as the
// `postgres` user, which must be able to reach it.
const dir = path.join(os.tmpdir(), `boocoder-embedded-${process.pid}`);
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

describe('embedded PostgreSQL', () => {
  it('initialises once, keeps its data across restarts, and attaches to a cluster already running', async () => {
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dir, port, durable: false });
    expect(first.owned).toBe(true);
    try {
      expect(first.adminUrl).toContain(`127.0.0.1:${port}`);
      await query(first.adminUrl, 'create table kept (n int); insert into kept values (42)');

      // A second process on the same folder finds it running and does not own it.
      const second = await startEmbeddedPostgres({ dir, port, durable: false });
      expect(second.owned).toBe(false);
      await second.stop();
      expect(await query(first.adminUrl, 'select n from kept')).toEqual([{ n: 42 }]);
    } finally {
      await first.stop();
    }
    await expect(query(first.adminUrl, 'select 1')).rejects.toThrow();

    const again = await startEmbeddedPostgres({ dir, port, durable: false });
    try {
      expect(again.owned).toBe(true);
      expect(await query(again.adminUrl, 'select n from kept')).toEqual([{ n: 42 }]);
      const [{ setting }] = (await query(
        again.adminUrl,
        `select setting from pg_settings where name = 'listen_addresses'`,
      )) as [{ setting: string }];
      expect(setting).toBe('127.0.0.1');
    } finally {
      await again.stop();
    }
  });

  it('refuses a port held by a server that is not its cluster', async () => {
    const server = net.createServer((socket) => socket.end('not postgres\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      await expect(startEmbeddedPostgres({ dir, port, durable: false })).rejects.toThrow(
        /BOOCODER_PG_PORT/,
      );
    } finally {
      server.close();
    }
  });
});
