/**
 * The agents this process can run, by name: the scripted agent (in-process, and as a separate
 * ACP process), the OpenAI-compatible one when configured, and every defined CLI on its
 * transport (ACP when it is defined to speak it, else a PTY).
 */
import { fileURLToPath } from 'node:url';
import { createAcpAgent } from './acp/client.ts';
import type { Agent } from './agent.ts';
import { DEFAULT_READ_ONLY_MODES, type AgentDefinition } from './definitions.ts';
import { createOpenAiAgent } from './openai.ts';
import { createPtyAgent } from './pty.ts';
import { scriptedAgent } from './scripted.ts';

export const SCRIPTED_ACP = 'scripted-acp';

/** The scripted ACP agent's executable: `node <this>` speaks ACP on stdio. */
export const SCRIPTED_ACP_BIN = fileURLToPath(
  new URL('../../bin/boocoder-scripted-acp.js', import.meta.url),
);

/** The built-in scripted agent as a real ACP process (node running our own script). */
export function scriptedAcpAgent(options: { stateDir: string; timeoutMs: number }): Agent {
  return createAcpAgent({
    definition: {
      name: SCRIPTED_ACP,
      label: 'Scripted agent over ACP',
      binary: process.execPath,
      args: [],
      acpArgs: [SCRIPTED_ACP_BIN],
      readOnlyArgs: null,
      acpReadOnlyModes: DEFAULT_READ_ONLY_MODES,
      env: { BOOCODER_SCRIPTED_ACP_STATE: options.stateDir },
      transport: 'acp',
    },
    searchPath: '/usr/bin:/bin',
    timeoutMs: options.timeoutMs,
  });
}

export function buildAgents(
  definitions: readonly AgentDefinition[],
  options: {
    searchPath: string;
    timeoutMs: number;
    openai?: { baseUrl: string; apiKey: string | null; model: string } | undefined;
    /** Where the scripted ACP agent keeps its sessions; absent: it is not offered. */
    scriptedAcpStateDir?: string;
  },
): Map<string, Agent> {
  const agents = new Map<string, Agent>([[scriptedAgent.name, scriptedAgent]]);
  if (options.scriptedAcpStateDir) {
    agents.set(
      SCRIPTED_ACP,
      scriptedAcpAgent({ stateDir: options.scriptedAcpStateDir, timeoutMs: options.timeoutMs }),
    );
  }
  if (options.openai) {
    agents.set(
      'openai',
      createOpenAiAgent({ name: 'openai', ...options.openai, timeoutMs: options.timeoutMs }),
    );
  }
  for (const definition of definitions) {
    const transport = { definition, searchPath: options.searchPath, timeoutMs: options.timeoutMs };
    agents.set(
      definition.name,
      definition.transport === 'acp' ? createAcpAgent(transport) : createPtyAgent(transport),
    );
  }
  return agents;
}

/** Only the scripted agent: for tests and benchmarks that need no CLI. */
export function builtInAgents(): Map<string, Agent> {
  return new Map([[scriptedAgent.name, scriptedAgent]]);
}
