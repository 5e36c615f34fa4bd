/**
 * One backend session of an agent for a chat: idle ⇄ active, crashed (recoverable),
 * closed (terminal). Usage accumulates per turn. A turn started under a different
 * config_hash than the session's is stale: the backend session is dropped and the turn
 * starts fresh (the `startFreshSession` effect).
 */
import { assign, setup } from 'xstate';
import { isCount, isNonNegative, isUuid } from './ids.ts';

export const version = 'agent_session@1';

export interface AgentSessionContext {
  chatId: string | null;
  agent: string | null;
  backend: string | null;
  agentSessionId: string | null;
  configHash: string | null;
  currentTurnId: string | null;
  turns: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  crashReason: string | null;
  lastActiveAt: string | null;
}

export type AgentSessionEvent =
  | {
      type: 'agent_session.opened';
      chat_id: string;
      agent: string;
      backend: string;
      config_hash: string;
      at: string;
    }
  | { type: 'agent_session.backend_attached'; agent_session_id: string; at: string }
  | { type: 'agent_session.turn_started'; turn_id: string; config_hash: string; at: string }
  | {
      type: 'agent_session.turn_completed';
      turn_id: string;
      input_tokens: number;
      output_tokens: number;
      cost: number;
      at: string;
    }
  | { type: 'agent_session.crashed'; reason: string; at: string }
  | { type: 'agent_session.recovered'; at: string }
  | { type: 'agent_session.closed'; at: string };

export const agentSessionMachine = setup({
  types: {
    context: {} as AgentSessionContext,
    events: {} as AgentSessionEvent,
  },
  guards: {
    validOpening: ({ event }) =>
      event.type === 'agent_session.opened' &&
      isUuid(event.chat_id) &&
      typeof event.agent === 'string' &&
      typeof event.backend === 'string' &&
      typeof event.config_hash === 'string',
    validAttachment: ({ event }) =>
      event.type === 'agent_session.backend_attached' && typeof event.agent_session_id === 'string',
    validCrash: ({ event }) =>
      event.type === 'agent_session.crashed' && typeof event.reason === 'string',
    validTurn: ({ event }) =>
      event.type === 'agent_session.turn_started' &&
      typeof event.turn_id === 'string' &&
      typeof event.config_hash === 'string',
    staleConfig: ({ context, event }) =>
      event.type === 'agent_session.turn_started' &&
      typeof event.turn_id === 'string' &&
      typeof event.config_hash === 'string' &&
      event.config_hash !== context.configHash,
    currentTurnWithValidUsage: ({ context, event }) =>
      event.type === 'agent_session.turn_completed' &&
      event.turn_id === context.currentTurnId &&
      isCount(event.input_tokens) &&
      isCount(event.output_tokens) &&
      isNonNegative(event.cost),
  },
  actions: {
    recordOpening: assign(({ event }) =>
      event.type === 'agent_session.opened'
        ? {
            chatId: event.chat_id,
            agent: event.agent,
            backend: event.backend,
            configHash: event.config_hash,
            lastActiveAt: event.at,
          }
        : {},
    ),
    attachBackend: assign(({ event }) =>
      event.type === 'agent_session.backend_attached'
        ? { agentSessionId: event.agent_session_id, lastActiveAt: event.at }
        : {},
    ),
    beginTurn: assign(({ event }) =>
      event.type === 'agent_session.turn_started'
        ? { currentTurnId: event.turn_id, lastActiveAt: event.at }
        : {},
    ),
    dropBackendSession: assign(({ event }) =>
      event.type === 'agent_session.turn_started'
        ? { agentSessionId: null, configHash: event.config_hash }
        : {},
    ),
    addTurnUsage: assign(({ context, event }) =>
      event.type === 'agent_session.turn_completed'
        ? {
            turns: context.turns + 1,
            inputTokens: context.inputTokens + event.input_tokens,
            outputTokens: context.outputTokens + event.output_tokens,
            cost: context.cost + event.cost,
            currentTurnId: null,
            lastActiveAt: event.at,
          }
        : {},
    ),
    recordCrash: assign(({ event }) =>
      event.type === 'agent_session.crashed'
        ? {
            crashReason: event.reason,
            currentTurnId: null,
            agentSessionId: null,
            lastActiveAt: event.at,
          }
        : {},
    ),
    clearCrash: assign({ crashReason: null }),
    touch: assign(({ event }) => ({ lastActiveAt: event.at })),
    // Effects, implemented by the runtime and run after commit.
    startFreshSession: () => undefined,
    stopBackend: () => undefined,
  },
}).createMachine({
  id: 'agent_session',
  initial: 'new',
  context: {
    chatId: null,
    agent: null,
    backend: null,
    agentSessionId: null,
    configHash: null,
    currentTurnId: null,
    turns: 0,
    inputTokens: 0,
    outputTokens: 0,
    cost: 0,
    crashReason: null,
    lastActiveAt: null,
  },
  states: {
    new: {
      on: {
        'agent_session.opened': { guard: 'validOpening', target: 'idle', actions: 'recordOpening' },
      },
    },
    idle: {
      on: {
        'agent_session.turn_started': [
          {
            guard: 'staleConfig',
            target: 'active',
            actions: ['dropBackendSession', 'beginTurn', 'startFreshSession'],
          },
          { guard: 'validTurn', target: 'active', actions: 'beginTurn' },
        ],
        'agent_session.backend_attached': { guard: 'validAttachment', actions: 'attachBackend' },
        'agent_session.crashed': { guard: 'validCrash', target: 'crashed', actions: 'recordCrash' },
        'agent_session.closed': { target: 'closed', actions: ['touch', 'stopBackend'] },
      },
    },
    active: {
      on: {
        'agent_session.turn_completed': {
          guard: 'currentTurnWithValidUsage',
          target: 'idle',
          actions: 'addTurnUsage',
        },
        'agent_session.backend_attached': { guard: 'validAttachment', actions: 'attachBackend' },
        'agent_session.crashed': {
          guard: 'validCrash',
          target: 'crashed',
          actions: ['recordCrash', 'stopBackend'],
        },
        'agent_session.closed': { target: 'closed', actions: ['touch', 'stopBackend'] },
      },
    },
    crashed: {
      on: {
        'agent_session.recovered': { target: 'idle', actions: ['clearCrash', 'touch'] },
        'agent_session.closed': { target: 'closed', actions: 'touch' },
      },
    },
    closed: { type: 'final' },
  },
});
