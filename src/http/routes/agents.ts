/**
 * Agents: which exist (built in, configured), which the probe found installed here, and
 * which one runs a task that names none. POST /api/agents/probe looks again now.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { probeAgents, recordProbe } from '../../adapters/probe.ts';
import type { AppDeps } from '../app.ts';
import { errors, Nullable, Timestamp } from '../schemas.ts';

const AgentInfo = Type.Object({
  name: Type.String(),
  label: Type.String(),
  transport: Type.String(),
  default: Type.Boolean({ description: 'runs tasks that name no agent' }),
  installed: Type.Boolean({ description: 'built in, or found by the last probe' }),
  version: Nullable(Type.String()),
  install_path: Nullable(Type.String()),
  last_probed_at: Nullable(Timestamp),
});

const AgentList = Type.Object({ default_agent: Type.String(), agents: Type.Array(AgentInfo) });

interface ProbeRow {
  name: string;
  install_path: string;
  version: string | null;
  last_probed_at: Date;
}

export function agentRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const catalog = deps.agents ?? {
    defaultAgent: 'scripted',
    builtIn: ['scripted'],
    definitions: () => Promise.resolve([]),
    searchPath: '',
  };

  async function list() {
    const [definitions, { rows }] = await Promise.all([
      catalog.definitions(),
      deps.pool.query<ProbeRow>('select * from available_agents'),
    ]);
    const probed = new Map(rows.map((r) => [r.name, r]));
    const agents = [
      ...catalog.builtIn.map((name) => ({
        name,
        label: name,
        transport: name,
        installed: true,
        version: null,
        install_path: null,
        last_probed_at: null,
      })),
      ...definitions.map((d) => {
        const found = probed.get(d.name);
        return {
          name: d.name,
          label: d.label,
          transport: d.transport,
          installed: found !== undefined,
          version: found?.version ?? null,
          install_path: found?.install_path ?? null,
          last_probed_at: found?.last_probed_at ?? null,
        };
      }),
    ].map((a) => ({ ...a, default: a.name === catalog.defaultAgent }));
    return { default_agent: catalog.defaultAgent, agents: agents as never[] };
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/agents',
      {
        schema: {
          summary: 'Known agents, whether installed here, and the default',
          tags: ['agents'],
          response: { 200: AgentList, ...errors(401) },
        },
      },
      list,
    );
    app.post(
      '/api/agents/probe',
      {
        schema: {
          summary: 'Look for installed agents now (PATH lookup and --version, no shell)',
          tags: ['agents'],
          response: { 200: AgentList, ...errors(401) },
        },
      },
      async () => {
        const found = await probeAgents(await catalog.definitions(), {
          searchPath: catalog.searchPath,
        });
        await recordProbe(deps.pool, found, new Date());
        return list();
      },
    );
  };
}
