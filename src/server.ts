/**
 * `boocoder start`: open (and migrate) the database, serve the HTTP API.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { buildApp } from './http/app.ts';
import { openDatabase } from './store/database.ts';
import { createEventStore } from './store/events.ts';
import { VERSION } from './version.ts';

export interface Server {
  app: FastifyInstance;
  address: string;
  close(): Promise<void>;
}

export async function startServer(config: Config): Promise<Server> {
  const database = await openDatabase(config);
  const store = createEventStore(database.pool);
  let app: FastifyInstance;
  let address: string;
  try {
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
    address,
    close() {
      closing ??= (async () => {
        await app.close();
        await database.close();
      })();
      return closing;
    },
  };
}
