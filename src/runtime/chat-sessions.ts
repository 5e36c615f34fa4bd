/**
 * A task with a `chat_id` runs as one turn of that chat's session with its agent: the
 * agent_session actor is opened (or recovered) for the (chat, agent) pair, goes active for the
 * turn and idle after it, and sums the turn's usage. A transport that can resume the agent's
 * own session (ACP `session/load`) gets its id and records the id of the session it ran in;
 * the others (PTY, OpenAI-compatible) start each turn fresh, and the session still records
 * the turns. A turn whose agent process died marks the session crashed.
 */
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Agent, AgentUsage } from '../adapters/agent.ts';
import { IllegalStateError } from '../errors.ts';
import type { AgentSessionContext } from '../machines/agent-session.ts';
import type { Runtime } from './actor-host.ts';

export interface Turn {
  sessionId: string;
  /** The agent's own id of the session to resume; null when there is none or it is stale. */
  resumeId: string | null;
  /** Records the agent's id of the session this turn runs in. */
  attach(agentSessionId: string, at: string): Promise<void>;
  finish(usage: AgentUsage, at: string): Promise<void>;
  /** The agent's process died mid-turn: the session cannot be resumed as it was. */
  crash(reason: string, at: string): Promise<void>;
}

export class ChatBusy extends Error {}

export function configHash(agent: Agent): string {
  return (
    agent.configHash ??
    createHash('sha256').update(`${agent.name}/${agent.executionPath}`).digest('hex').slice(0, 16)
  );
}

const OPEN_SESSION = `
  select id, status from agent_sessions
  where chat_id = $1 and agent = $2 and status <> 'closed'
  limit 1`;

export async function beginTurn(
  pool: pg.Pool,
  runtime: Runtime,
  turn: { chatId: string; agent: Agent; turnId: string; at: string },
): Promise<Turn> {
  const hash = configHash(turn.agent);
  const { rows } = await pool.query<{ id: string; status: string }>(OPEN_SESSION, [
    turn.chatId,
    turn.agent.name,
  ]);
  let sessionId = rows[0]?.id;
  if (!sessionId) {
    sessionId = randomUUID();
    try {
      await runtime.send('agent_session', sessionId, {
        type: 'agent_session.opened',
        chat_id: turn.chatId,
        agent: turn.agent.name,
        backend: turn.agent.executionPath,
        config_hash: hash,
        at: turn.at,
      });
    } catch (error) {
      // Another turn of this chat opened its session at the same moment (the one-open-
      // session index refused ours): that turn is running, so this one is refused as busy.
      if ((error as { code?: string }).code === '23505') {
        throw new ChatBusy(
          `chat ${turn.chatId} already has a turn running on agent "${turn.agent.name}"`,
        );
      }
      throw error;
    }
  } else if (rows[0]!.status === 'crashed') {
    await runtime.send('agent_session', sessionId, {
      type: 'agent_session.recovered',
      at: turn.at,
    });
  }
  let started;
  try {
    // A changed config hash makes the machine start the backend session fresh.
    started = await runtime.send('agent_session', sessionId, {
      type: 'agent_session.turn_started',
      turn_id: turn.turnId,
      config_hash: hash,
      at: turn.at,
    });
  } catch (error) {
    if (error instanceof IllegalStateError) {
      throw new ChatBusy(
        `chat ${turn.chatId} already has a turn running on agent "${turn.agent.name}"`,
      );
    }
    throw error;
  }
  const id = sessionId;
  return {
    sessionId: id,
    resumeId: (started.snapshot.context as AgentSessionContext).agentSessionId,
    async attach(agentSessionId, at) {
      await runtime.send('agent_session', id, {
        type: 'agent_session.backend_attached',
        agent_session_id: agentSessionId,
        at,
      });
    },
    async crash(reason, at) {
      await runtime.send('agent_session', id, { type: 'agent_session.crashed', reason, at });
    },
    async finish(usage, at) {
      await runtime.send('agent_session', id, {
        type: 'agent_session.turn_completed',
        turn_id: turn.turnId,
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        // Sessions count cost in tokens, as tasks do.
        cost: usage.costTokens,
        at,
      });
    },
  };
}
