/** The agents this process can run, by name: the scripted agent plus every configured CLI. */
import type { Agent } from './agent.ts';
import type { AgentDefinition } from './definitions.ts';
import { createOpenAiAgent } from './openai.ts';
import { createPtyAgent } from './pty.ts';
import { scriptedAgent } from './scripted.ts';

export function buildAgents(
  definitions: readonly AgentDefinition[],
  options: {
    searchPath: string;
    timeoutMs: number;
    openai?: { baseUrl: string; apiKey: string | null; model: string } | undefined;
  },
): Map<string, Agent> {
  const agents = new Map<string, Agent>([[scriptedAgent.name, scriptedAgent]]);
  if (options.openai) {
    agents.set(
      'openai',
      createOpenAiAgent({ name: 'openai', ...options.openai, timeoutMs: options.timeoutMs }),
    );
  }
  for (const definition of definitions) {
    // ACP definitions get their transport with the ACP adapter; until then they run over a PTY.
    agents.set(
      definition.name,
      createPtyAgent({ definition, searchPath: options.searchPath, timeoutMs: options.timeoutMs }),
    );
  }
  return agents;
}

/** Only the scripted agent: for tests and benchmarks that need no CLI. */
export function builtInAgents(): Map<string, Agent> {
  return new Map([[scriptedAgent.name, scriptedAgent]]);
}
