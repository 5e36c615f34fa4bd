/**
 * `boocoder start`: open (and migrate) the database, run a worker, serve the HTTP API.
 * `boocoder worker`: the same without the API.
 */
import type { FastifyInstance } from 'fastify';
import { loadAgentDefinitions } from './adapters/definitions.ts';
import { SCRIPTED_ACP } from './adapters/index.ts';
import { checkExposure, type Config } from './config.ts';
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
  if (options.http) checkExposure(config);
  const database = await openDatabase(config);
  let node: Node | undefined;
  let app: FastifyInstance | undefined;
  let address: string | undefined;
  try {
    node = await startNode(config, database, {
      worker: true,
      // The app's logger once it exists (the node starts first: the app needs its runtime).
      log: (level, message, extra) => {
        if (app) app.log[level](extra ?? {}, message);
        else if (level !== 'info' || config.logLevel === 'debug')
          console.error(`[${level}] ${message}`, extra ?? '');
      },
    });
    if (options.http) {
      app = await buildApp(
        {
          pool: database.pool,
          store: createEventStore(database.pool),
          version: VERSION,
          runtime: node.runtime,
          agents: {
            defaultAgent: config.defaultAgent,
            builtIn: ['scripted', SCRIPTED_ACP, ...(config.openai ? ['openai'] : [])],
            definitions: () => loadAgentDefinitions(config.agentsFile),
            searchPath: config.agentPath,
          },
          connectionString: database.url,
        },
        { logLevel: config.logLevel, token: config.token, ws: { pollMs: config.pollMs } },
      );
      address = await app.listen({ host: config.host, port: config.port });
    }
  } catch (error) {
    await app?.close();
    await node?.stop(0);
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
