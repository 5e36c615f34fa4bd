import { once } from 'node:events';
import { freePort } from './helpers/net.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { boocoder } from './helpers/process.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ fromTemplate: false, poolSize: 2 });
});
afterAll(() => db.drop());

const run = boocoder;

describe('boocoder command line', () => {
  it('migrate applies the schema to DATABASE_URL, then reports it up to date', async () => {
    const first = run(['migrate'], { DATABASE_URL: db.url });
    const [code] = (await once(first.child, 'exit')) as [number];
    expect(first.output()).toMatch(/applied migrations 1/);
    expect(code).toBe(0);
    const second = run(['migrate'], { DATABASE_URL: db.url });
    expect((await once(second.child, 'exit'))[0]).toBe(0);
    expect(second.output()).toMatch(/up to date/);
  });

  it('rebuild replays the log into the read tables', async () => {
    const rebuild = run(['rebuild'], { DATABASE_URL: db.url });
    expect((await once(rebuild.child, 'exit'))[0]).toBe(0);
    expect(rebuild.output()).toMatch(/rebuilt the read tables from 0 events/);
  });

  it('probe records and prints the agents on PATH', async () => {
    const probe = run(['probe'], { DATABASE_URL: db.url, PATH: '/nonexistent' });
    expect((await once(probe.child, 'exit'))[0]).toBe(0);
    expect(probe.output()).toMatch(/no known agent found on PATH/);
  });

  it('start serves /health, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const server = run(['start'], { DATABASE_URL: db.url, PORT: String(port), LOG_LEVEL: 'warn' });
    try {
      let body: unknown;
      for (let i = 0; i < 300 && body === undefined; i++) {
        body = await fetch(`http://127.0.0.1:${port}/health`)
          .then((r) => r.json())
          .catch(() => new Promise((r) => setTimeout(() => r(undefined), 50)));
      }
      expect(body).toMatchObject({ status: 'ok', db: { ok: true }, log: { head_position: 0 } });
      server.child.kill('SIGTERM');
      const [code] = (await once(server.child, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('rejects bad configuration and unknown commands with a clear message', async () => {
    const bad = run(['start'], { DATABASE_URL: db.url, PORT: 'eighty' });
    expect((await once(bad.child, 'exit'))[0]).toBe(1);
    expect(bad.output()).toMatch(/PORT must be an integer/);
    const unknown = run(['launch'], {});
    expect((await once(unknown.child, 'exit'))[0]).toBe(2);
    expect(unknown.output()).toMatch(/unknown command "launch"/);
  });
});
