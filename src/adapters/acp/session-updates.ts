/**
 * What an ACP `session/update` means for a task: text for its output stream, and usage.
 * Message text goes through as is; thoughts, tool calls and plans become short marked lines so
 * a person reading the output sees what the agent did, not only what it said.
 */
import type { SessionUpdate, Usage } from '@agentclientprotocol/sdk/unstable';
import type { AgentUsage } from '../agent.ts';

export interface UpdateEffect {
  output?: string;
  /** Text of the agent's answer (not thoughts or tools): the summary is drawn from it. */
  message?: string;
}

function text(content: { type: string; text?: string } | undefined): string {
  return content?.type === 'text' && typeof content.text === 'string' ? content.text : '';
}

/** One renderer per turn: it remembers tool call titles, which later updates may omit. */
export function createUpdateRenderer(): (update: SessionUpdate) => UpdateEffect {
  const titles = new Map<string, string>();
  return (update) => {
    switch (update.sessionUpdate) {
      case 'agent_message_chunk': {
        const t = text(update.content);
        return t ? { output: t, message: t } : {};
      }
      case 'agent_thought_chunk': {
        const t = text(update.content);
        return t ? { output: `[thought] ${t}\n` } : {};
      }
      case 'tool_call':
        titles.set(update.toolCallId, update.title);
        return {
          output: `[tool] ${update.title}${update.kind ? ` (${update.kind})` : ''}${
            update.status && update.status !== 'pending' ? `: ${update.status}` : ''
          }\n`,
        };
      case 'tool_call_update':
        // Only the end of a tool call is news; its progress would flood the output.
        return update.status === 'completed' || update.status === 'failed'
          ? {
              output: `[tool] ${update.title ?? titles.get(update.toolCallId) ?? update.toolCallId}: ${update.status}\n`,
            }
          : {};
      case 'plan':
        return {
          output: `[plan]\n${update.entries.map((e) => `  - [${e.status}] ${e.content}`).join('\n')}\n`,
        };
      default:
        // Mode, command, config and context-size updates change nothing a task records.
        return {};
    }
  };
}

/** A prompt response's usage as the task counts it (cost in tokens: input + output). */
export function turnUsage(usage: Usage | null | undefined): AgentUsage | null {
  if (!usage) return null;
  const inputTokens = Math.max(0, Math.trunc(usage.inputTokens || 0));
  const outputTokens = Math.max(0, Math.trunc(usage.outputTokens || 0));
  return { inputTokens, outputTokens, costTokens: inputTokens + outputTokens };
}
