import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkExposure, loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

describe('config', () => {
  it('defaults to loopback:9502 and an embedded PostgreSQL under .boocoder', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config).toMatchObject({
      databaseUrl: undefined,
      host: '127.0.0.1',
      port: 9502,
      dataDir: path.resolve('/srv/app/.boocoder'),
      logLevel: 'info',
    });
    expect(config.embeddedPgPort).not.toBe(5432);
  });

  it('takes overrides from the environment', () => {
    const config = loadConfig(
      {
        DATABASE_URL: 'postgres://u@db:5432/x',
        PORT: '8080',
        HOST: '0.0.0.0',
        BOOCODER_DATA_DIR: '/var/lib/bc',
        LOG_LEVEL: 'warn',
      },
      '/srv/app',
    );
    expect(config).toMatchObject({
      databaseUrl: 'postgres://u@db:5432/x',
      port: 8080,
      host: '0.0.0.0',
      dataDir: '/var/lib/bc',
      logLevel: 'warn',
    });
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must be between/],
    [{ BOOCODER_PG_PORT: '80' }, /BOOCODER_PG_PORT must be between/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL is not a valid URL/],
    [{ DATABASE_URL: 'mysql://x@y/z' }, /must start with postgres/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ BOOCODER_OPENAI_BASE_URL: 'ftp://models' }, /BOOCODER_OPENAI_BASE_URL must be an http/],
    [{ BOOCODER_SNAPSHOT_EVERY: '-1' }, /BOOCODER_SNAPSHOT_EVERY must be an integer/],
  ])('rejects %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads BOOCODER_TOKEN and refuses a non-loopback bind without it', () => {
    expect(loadConfig({}).token).toBeNull();
    expect(loadConfig({ BOOCODER_TOKEN: 't' }).token).toBe('t');
    expect(() => checkExposure(loadConfig({ HOST: '0.0.0.0' }))).toThrow(ConfigError);
    expect(() => checkExposure(loadConfig({ HOST: '0.0.0.0', BOOCODER_TOKEN: 't' }))).not.toThrow();
    for (const host of ['127.0.0.1', '::1', 'localhost', '127.1.2.3']) {
      expect(() => checkExposure(loadConfig({ HOST: host }))).not.toThrow();
    }
  });
});
