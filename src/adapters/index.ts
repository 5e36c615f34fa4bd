/** The agents this process can run, by name. */
import type { Agent } from './agent.ts';
import { scriptedAgent } from './scripted.ts';

export function builtInAgents(): Map<string, Agent> {
  return new Map([[scriptedAgent.name, scriptedAgent]]);
}
