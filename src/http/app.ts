/**
 * The fastify application, without listening: tests drive it with `inject`, the server
 * (src/server.ts) binds it to a port.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Config } from '../config.ts';
import type { EventStore } from '../store/events.ts';
import { installErrorHandler } from './error-handler.ts';
import { healthRoutes } from './routes/health.ts';

export interface AppDeps {
  pool: pg.Pool;
  store: EventStore;
  version: string;
}

export interface AppOptions {
  logLevel?: Config['logLevel'];
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
}

export async function buildApp(deps: AppDeps, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: options.logLevel ?? 'info' },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Clients get our error shape, never fastify's default.
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandler(app);
  await app.register(healthRoutes(deps));
  return app;
}
