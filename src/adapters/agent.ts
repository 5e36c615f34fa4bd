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

/** A question the agent puts to a person: the task blocks until it is answered. */
export interface AgentRequest {
  kind: 'permission' | 'question';
  prompt: string;
  /** What the person may answer (for a permission, the agent's option ids). */
  options: string[];
}

/** A file write held for review instead of reaching the disk (review and read-only modes). */
export interface ProposedChange {
  /** Relative to the working directory. */
  filePath: string;
  before: string | null;
  after: string | null;
}

export interface AgentReport {
  output(chunk: string): Promise<void>;
  usage(usage: AgentUsage): Promise<void>;
  /** Blocks the task on a person's answer; rejects (AgentAborted) if the task is aborted. */
  request(request: AgentRequest): Promise<string>;
  /** Records a pending change for review; the file on disk is left alone. */
  proposeChange(change: ProposedChange): Promise<void>;
}

/** The chat session a turn belongs to, for transports that can resume one. */
export interface SessionLink {
  /** The agent's own id of the session to resume, if the chat has one that is still valid. */
  resumeId: string | null;
  /** Records the agent's id of the session this turn runs in. */
  attach(agentSessionId: string): Promise<void>;
}

export interface AgentRun {
  taskId: string;
  input: string;
  model: string | null;
  /** Absolute path the agent works in. */
  workdir: string;
  /** Run so that it cannot write; an agent that cannot must fail, never fall back. */
  readOnly: boolean;
  /** Where file writes go: straight to disk, or to review as pending changes. */
  writes: 'disk' | 'review';
  signal: AbortSignal;
  report: AgentReport;
  /** Present when the task is a turn of a chat. */
  session?: SessionLink;
}

export type AgentResult =
  | { status: 'completed'; summary: string }
  /** `crashed`: the agent's process died; its chat session cannot be resumed. */
  | { status: 'failed'; error: string; crashed?: boolean };

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
