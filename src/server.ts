/**
 * `boocoder start`: open (and migrate) the database, run a worker, serve the HTTP API.
 * `boocoder worker`: the same without the API.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { buildApp } from './http/app.ts';
import { startNode, type Node } from './runtime/node.ts';
import { openDatabase } from './store/database.ts';
import { createEventStore } from './store/events.ts';
import { VERSION } from './version.ts';

export interface Server {
  app: FastifyInstance | undefined;
  node: Node;
  address: string | undefined;
  close(): Promise<void>;
}

export async function startServer(
  config: Config,
  options: { http: boolean } = { http: true },
): Promise<Server> {
  const database = await openDatabase(config);
  let node: Node | undefined;
  let app: FastifyInstance | undefined;
  let address: string | undefined;
  try {
    if (options.http) {
      app = await buildApp(
        { pool: database.pool, store: createEventStore(database.pool), version: VERSION },
        { logLevel: config.logLevel },
      );
    }
    const logger = app?.log;
    node = await startNode(config, database, {
      worker: true,
      log: (level, message, extra) => {
        if (logger) logger[level](extra ?? {}, message);
        else if (level !== 'info' || config.logLevel === 'debug')
          console.error(`[${level}] ${message}`, extra ?? '');
      },
    });
    address = app ? await app.listen({ host: config.host, port: config.port }) : undefined;
  } catch (error) {
    await node?.stop(0);
    await app?.close();
    await database.close();
    throw error;
  }
  const started = node;
  let closing: Promise<void> | undefined;
  return {
    app,
    node: started,
    address,
    close() {
      closing ??= (async () => {
        await app?.close();
        await started.stop(config.shutdownGraceMs);
        await database.close();
      })();
      return closing;
    },
  };
}
