/**
 * boocoder's command line: `boocoder start | migrate | help`.
 */
import { loadConfig } from './config.ts';
import { BoocoderError } from './errors.ts';
import { startServer } from './server.ts';
import { loadAgentDefinitions } from './adapters/definitions.ts';
import { probeAgents, recordProbe } from './adapters/probe.ts';
import { rebuildProjections } from './projections/rebuild.ts';
import { openDatabase, resolveDatabaseUrl } from './store/database.ts';
import { migrate } from './store/migrate.ts';
import { VERSION } from './version.ts';

const USAGE = `boocoder ${VERSION}: run coding agents on a queue, every transition in PostgreSQL

usage: boocoder <command>

  start     migrate the database, run a worker and serve the API (default http://127.0.0.1:9502)
  worker    run a worker only: claim and run tasks (any number, on any machines, one database)
  migrate   apply pending database migrations and exit
  rebuild   rebuild every read table from the event log, then swap it in
  probe     look for the known agents on PATH and record what is installed
  help      show this text

Configuration is read from the environment; see the README.`;

/** Runs until SIGINT/SIGTERM, then shuts down cleanly (a second signal exits at once). */
async function serveUntilSignal(http: boolean): Promise<void> {
  const config = loadConfig();
  const server = await startServer(config, { http });
  if (!http)
    console.error(`boocoder worker ${config.workerId} running (${config.concurrency} slots)`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.error(
      `${signal}: finishing running tasks (up to ${config.shutdownGraceMs} ms), then stopping`,
    );
    const force = setTimeout(() => {
      console.error(`shutdown took longer than ${config.shutdownGraceMs} ms: exiting`);
      process.exit(1);
    }, config.shutdownGraceMs + 10_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function commandMigrate(): Promise<void> {
  const config = loadConfig();
  const { url, embedded } = await resolveDatabaseUrl(config);
  try {
    const result = await migrate(url);
    console.log(
      result.applied.length
        ? `applied migrations ${result.applied.join(', ')}; database is at ${result.current}`
        : `database is up to date (migration ${result.current})`,
    );
  } finally {
    await embedded?.stop();
  }
}

async function commandRebuild(): Promise<void> {
  const database = await openDatabase(loadConfig());
  try {
    const result = await rebuildProjections(database.pool);
    const perSecond = Math.round(result.events / (result.ms / 1000));
    console.log(
      `rebuilt the read tables from ${result.events} events (${result.tail} arrived during the build) in ${Math.round(result.ms)} ms, ${perSecond} events/s`,
    );
  } finally {
    await database.close();
  }
}

async function commandProbe(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase(config);
  try {
    const found = await probeAgents(await loadAgentDefinitions(config.agentsFile), {
      searchPath: config.agentPath,
    });
    await recordProbe(database.pool, found, new Date());
    if (found.length === 0) console.log('no known agent found on PATH');
    for (const a of found) {
      console.log(
        `${a.name.padEnd(10)} ${(a.version ?? '(version unknown)').padEnd(40)} ${a.installPath}${a.supportsAcp ? '  [acp]' : ''}`,
      );
    }
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command = 'help'] = argv;
  switch (command) {
    case 'start':
      await serveUntilSignal(true);
      return -1; // keeps running until a signal
    case 'worker':
      await serveUntilSignal(false);
      return -1;
    case 'migrate':
      await commandMigrate();
      return 0;
    case 'rebuild':
      await commandRebuild();
      return 0;
    case 'probe':
      await commandProbe();
      return 0;
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    case '--version':
    case 'version':
      console.log(VERSION);
      return 0;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof BoocoderError) {
      console.error(`boocoder: ${error.message}`);
    } else {
      console.error('boocoder: unexpected error', error);
    }
    process.exit(1);
  },
);
