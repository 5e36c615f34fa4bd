/**
 * The only module that reads the environment. Everything else receives a Config.
 * Validated once at start-up so a typo fails loudly instead of half-working.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.ts';

export interface Config {
  /** External PostgreSQL. Unset: an embedded PostgreSQL is started under `dataDir`. */
  databaseUrl: string | undefined;
  host: string;
  port: number;
  /** BOOCODER_TOKEN: when set, every HTTP route and the WS upgrade need `Authorization: Bearer <token>`. */
  token: string | null;
  /** Where boocoder keeps its own files (embedded PostgreSQL data, credentials). */
  dataDir: string;
  /** Loopback port of the embedded PostgreSQL the server starts. */
  embeddedPgPort: number;
  /** Loopback port of the separate embedded PostgreSQL the test suite starts. */
  testPgPort: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Connections in the server's query pool. */
  poolSize: number;
  /** How long a clean shutdown may take before the process gives up waiting. */
  shutdownGraceMs: number;
  /** Save an actor snapshot every N events of its stream (0: never); a cache only. */
  snapshotEvery: number;
  /** Tasks one worker process runs at once. */
  concurrency: number;
  /** How long a claim holds a task without a heartbeat before others may take it. */
  leaseMs: number;
  /** Fallback poll for pending tasks, in case a NOTIFY was lost. */
  pollMs: number;
  /** How often each worker looks for expired leases. */
  sweepMs: number;
  /** This process's name in leases; unique per process. */
  workerId: string;
  /** The agent a task runs on when it names none. */
  defaultAgent: string;
  /** Where agents work when a task names no workdir. */
  workdir: string;
  /** User agent definitions (JSON), merged over the built-in ones; absent file: none. */
  agentsFile: string;
  /** PATH the agent probe searches and agents are spawned with. */
  agentPath: string;
  /** Longest an agent may run for one task before it is stopped and the task fails. */
  agentTimeoutMs: number;
  /** An OpenAI-compatible server for the `openai` agent (unset: no such agent). */
  openai: { baseUrl: string; apiKey: string | null; model: string } | undefined;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function databaseUrl(env: Env): string | undefined {
  const raw = env.DATABASE_URL;
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new ConfigError('DATABASE_URL is not a valid URL', { cause });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must start with postgres://, got ${url.protocol}//`);
  }
  return raw;
}

function openai(env: Env): Config['openai'] {
  const baseUrl = env.BOOCODER_OPENAI_BASE_URL;
  if (!baseUrl) return undefined;
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch (cause) {
    throw new ConfigError(`BOOCODER_OPENAI_BASE_URL must be an http(s) URL, got "${baseUrl}"`, {
      cause,
    });
  }
  return {
    baseUrl,
    apiKey: env.BOOCODER_OPENAI_API_KEY || null,
    model: env.BOOCODER_OPENAI_MODEL || 'default',
  };
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  return {
    databaseUrl: databaseUrl(env),
    host: env.HOST || '127.0.0.1',
    token: env.BOOCODER_TOKEN || null,
    port: integer(env, 'PORT', 9502, 0, 65535),
    dataDir: path.resolve(cwd, env.BOOCODER_DATA_DIR || '.boocoder'),
    embeddedPgPort: integer(env, 'BOOCODER_PG_PORT', 54329, 1024, 65535),
    testPgPort: integer(env, 'BOOCODER_TEST_PG_PORT', 54339, 1024, 65535),
    logLevel: logLevel as Config['logLevel'],
    poolSize: integer(env, 'BOOCODER_POOL_SIZE', 10, 1, 1000),
    shutdownGraceMs: integer(env, 'BOOCODER_SHUTDOWN_GRACE_MS', 10_000, 0, 3_600_000),
    snapshotEvery: integer(env, 'BOOCODER_SNAPSHOT_EVERY', 100, 0, 1_000_000),
    concurrency: integer(env, 'BOOCODER_CONCURRENCY', 4, 1, 1000),
    leaseMs: integer(env, 'BOOCODER_LEASE_MS', 30_000, 500, 86_400_000),
    pollMs: integer(env, 'BOOCODER_POLL_MS', 2_000, 50, 3_600_000),
    sweepMs: integer(env, 'BOOCODER_SWEEP_MS', 5_000, 50, 3_600_000),
    workerId:
      env.BOOCODER_WORKER_ID || `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    defaultAgent: env.BOOCODER_DEFAULT_AGENT || 'scripted',
    workdir: path.resolve(cwd, env.BOOCODER_WORKDIR || '.'),
    agentsFile: path.resolve(
      cwd,
      env.BOOCODER_AGENTS_FILE || path.join(env.BOOCODER_DATA_DIR || '.boocoder', 'agents.json'),
    ),
    agentPath: env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    agentTimeoutMs: integer(env, 'BOOCODER_AGENT_TIMEOUT_MS', 30 * 60_000, 1000, 7 * 86_400_000),
    openai: openai(env),
  };
}

/** 127.0.0.1, ::1, localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The API drives agents that write files and run commands: serving it beyond this machine
 * without a token would hand that to anyone on the network, so it refuses to start.
 */
export function checkExposure(config: Pick<Config, 'host' | 'token'>): void {
  if (!isLoopback(config.host) && !config.token) {
    throw new ConfigError(
      `HOST=${config.host} is not a loopback address: set BOOCODER_TOKEN so the API requires it, or bind to 127.0.0.1`,
    );
  }
}
