/**
 * `boocoder start`: open (and migrate) the database, serve the HTTP API.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { buildApp } from './http/app.ts';
import { projectEvents } from './projections/project.ts';
import { openDatabase } from './store/database.ts';
import { createRuntime, type Runtime } from './runtime/actor-host.ts';
import { flowEffects, resumeFlows } from './runtime/flows.ts';
import { createEventStore } from './store/events.ts';
import { createSnapshotStore } from './store/snapshots.ts';
import { VERSION } from './version.ts';

export interface Server {
  app: FastifyInstance;
  runtime: Runtime;
  address: string;
  close(): Promise<void>;
}

export async function startServer(config: Config): Promise<Server> {
  const database = await openDatabase(config);
  const store = createEventStore(database.pool);
  const runtime = createRuntime({
    pool: database.pool,
    store,
    snapshots: createSnapshotStore(database.pool),
    effects: flowEffects(),
    // Read tables change in the same transaction as the event that changes them.
    inline: (tx, event) => projectEvents(tx, [event]),
    snapshotEvery: config.snapshotEvery,
  });
  let app: FastifyInstance;
  let address: string;
  try {
    // Runs left mid-way by a previous process pick up where they were.
    await resumeFlows(database.pool, runtime);
    app = await buildApp(
      { pool: database.pool, store, version: VERSION },
      { logLevel: config.logLevel },
    );
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await database.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    runtime,
    address,
    close() {
      closing ??= (async () => {
        await app.close();
        await runtime.drain();
        await database.close();
      })();
      return closing;
    },
  };
}
