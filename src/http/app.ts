/**
 * The fastify application, without listening: tests drive it with `inject`, the server
 * (src/server.ts) binds it to a port. Every route group is a plugin in routes/; the WS
 * gateway (ws/) hangs off the same HTTP server's upgrade event.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { AgentDefinition } from '../adapters/definitions.ts';
import type { Config } from '../config.ts';
import type { Runtime } from '../runtime/actor-host.ts';
import type { EventStore } from '../store/events.ts';
import { bearerCheck } from './auth.ts';
import { installErrorHandler, type ErrorBody } from './error-handler.ts';
import { agentRoutes } from './routes/agents.ts';
import { changeRoutes } from './routes/changes.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { inboxRoutes } from './routes/inbox.ts';
import { runRoutes } from './routes/runs.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { taskRoutes } from './routes/tasks.ts';
import { timelineRoutes } from './routes/timeline.ts';
import { validatorCompiler } from './validation.ts';
import { attachGateway, type GatewayOptions } from './ws/gateway.ts';

/** What the agent routes need to know about this machine's agents. */
export interface AgentCatalog {
  /** The agent a task runs on when it names none. */
  defaultAgent: string;
  /** Agents that need no definition (scripted, openai when configured). */
  builtIn: readonly string[];
  /** Built-in CLI definitions merged with the user's file (read afresh each call). */
  definitions(): Promise<AgentDefinition[]>;
  /** PATH the probe searches. */
  searchPath: string;
}

export interface AppDeps {
  pool: pg.Pool;
  store: EventStore;
  version: string;
  /** The one write path: every state-changing route goes through `runtime.send`. */
  runtime: Runtime;
  /** Absent: the agent routes list only the scripted agent and tasks take any agent name. */
  agents?: AgentCatalog;
  /** For the WS gateway's NOTIFY wake-ups; absent, it polls only. */
  connectionString?: string;
}

export interface AppOptions {
  logLevel?: Config['logLevel'];
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
  /** When set, every route and the WS upgrade require `Authorization: Bearer`. */
  token?: string | null;
  ws?: Partial<GatewayOptions>;
}

export async function buildApp(deps: AppDeps, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: options.logLevel ?? 'info' },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Clients get our error shape, never fastify's default.
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler());
  installErrorHandler(app);

  const authorized = bearerCheck(options.token);
  app.addHook('onRequest', async (request, reply) => {
    if (authorized(request.headers.authorization)) return;
    await reply
      .status(401)
      .header('www-authenticate', 'Bearer')
      .send({
        error: { code: 'unauthorized', message: 'missing or wrong bearer token' },
      } satisfies ErrorBody);
  });

  // A POST with no body is an empty object, so a route whose body fields are all optional
  // (reject's reason) can be called with no body at all.
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && request.method === 'POST') request.body = {};
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'boocoder',
        version: deps.version,
        description: 'Tasks, inbox, pending changes, agents, sessions and the event log.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      ...(options.token ? { security: [{ bearer: [] }] } : {}),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes(deps));
  await app.register(taskRoutes(deps));
  await app.register(inboxRoutes(deps));
  await app.register(changeRoutes(deps));
  await app.register(agentRoutes(deps));
  await app.register(sessionRoutes(deps));
  await app.register(eventRoutes(deps));
  await app.register(runRoutes(deps));
  await app.register(timelineRoutes(deps));

  attachGateway(app, deps, { ...options.ws, authorized });
  return app;
}
