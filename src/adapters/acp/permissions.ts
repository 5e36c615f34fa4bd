/**
 * ACP permission requests as inbox questions, and a person's answer back as the option the
 * agent offered. A person may answer with one of the agent's option ids, or simply "allow" /
 * "reject"; anything else is taken as a rejection (never as a yes).
 */
import type { PermissionOption, RequestPermissionRequest } from '@agentclientprotocol/sdk/unstable';
import type { AgentRequest } from '../agent.ts';

export function permissionQuestion(request: RequestPermissionRequest): AgentRequest {
  const call = request.toolCall;
  const what = call.title ?? call.toolCallId;
  const choices = request.options.map((o) => `${o.name} [${o.optionId}]`).join(', ');
  return {
    kind: 'permission',
    prompt: `The agent asks to run: ${what}${call.kind ? ` (${call.kind})` : ''}. Options: ${choices}`,
    options: request.options.map((o) => o.optionId),
  };
}

const ALLOW = new Set(['allow', 'yes', 'approve', 'ok']);

/** The option a person's answer selects, or null when it selects none (the turn is told no). */
export function chooseOption(options: PermissionOption[], answer: string): PermissionOption | null {
  const exact = options.find((o) => o.optionId === answer);
  if (exact) return exact;
  const word = answer.trim().toLowerCase();
  const kinds: PermissionOption['kind'][] = ALLOW.has(word)
    ? ['allow_once', 'allow_always']
    : ['reject_once', 'reject_always'];
  for (const kind of kinds) {
    const option = options.find((o) => o.kind === kind);
    if (option) return option;
  }
  return null;
}

/** The option that says no, for requests nobody may answer yes to (read-only runs). */
export const rejection = (options: PermissionOption[]) => chooseOption(options, 'reject');
