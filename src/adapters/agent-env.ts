/**
 * The environment an agent process gets: a clean one (our secrets, DATABASE_URL included, never
 * leak into it) plus what its definition configures.
 */
import type { AgentDefinition } from './definitions.ts';

export function agentEnv(
  definition: AgentDefinition,
  searchPath: string,
  workdir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: searchPath,
    HOME: process.env.HOME ?? workdir,
    LANG: 'C.UTF-8',
    ...extra,
    ...definition.env,
  };
}
