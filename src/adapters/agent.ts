/**
 * The one interface every agent transport implements: run a task's prompt, report what
 * happens along the way, end with completed (a summary) or failed (a reason). Aborting the
 * signal must stop the agent promptly; what it reports after that is ignored.
 */
import type { ExecutionPath } from '../machines/task.ts';

export interface AgentUsage {
  inputTokens: number;
  outputTokens: number;
  costTokens: number;
}

export interface AgentReport {
  output(chunk: string): Promise<void>;
  usage(usage: AgentUsage): Promise<void>;
}

export interface AgentRun {
  taskId: string;
  input: string;
  model: string | null;
  /** Absolute path the agent works in. */
  workdir: string;
  /** Run so that it cannot write; an agent that cannot must fail, never fall back. */
  readOnly: boolean;
  signal: AbortSignal;
  report: AgentReport;
}

export type AgentResult =
  { status: 'completed'; summary: string } | { status: 'failed'; error: string };

export interface Agent {
  name: string;
  executionPath: ExecutionPath;
  /** Changes when the agent's configuration does: a chat's session then starts fresh. */
  configHash?: string;
  run(run: AgentRun): Promise<AgentResult>;
}

/** Thrown (or rejected with) when an agent stops because its signal was aborted. */
export class AgentAborted extends Error {
  constructor(reason?: unknown) {
    const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : '';
    super(`agent aborted${why ? `: ${why}` : ''}`);
  }
}
