/** The `agent_sessions` read table: one row per agent session stream. */
import { at, requireRow, stateAfter, type Projection, type Row } from './types.ts';

export const agentSessionsProjection: Projection = {
  table: 'agent_sessions',
  key: ['id'],
  columns: [
    'id',
    'chat_id',
    'agent',
    'backend',
    'agent_session_id',
    'status',
    'config_hash',
    'turns',
    'input_tokens',
    'output_tokens',
    'cost',
    'crash_reason',
    'last_active_at',
    'created_at',
    'version',
  ],
  streamTypes: ['agent_session'],
  keysOf: (event) => [{ id: event.streamId }],
  evolve(row, event): Row | null {
    const d = event.data;
    const status = stateAfter(event).value;
    if (event.type === 'agent_session.opened') {
      return {
        id: event.streamId,
        chat_id: d.chat_id!,
        agent: d.agent!,
        backend: d.backend!,
        agent_session_id: null,
        status,
        config_hash: d.config_hash!,
        turns: 0,
        input_tokens: 0,
        output_tokens: 0,
        cost: 0,
        crash_reason: null,
        last_active_at: at(event),
        created_at: at(event),
        version: event.version,
      };
    }
    const before = requireRow(row, 'agent_sessions', event);
    let changes: Row = {};
    switch (event.type) {
      case 'agent_session.backend_attached':
        changes = { agent_session_id: d.agent_session_id! };
        break;
      case 'agent_session.turn_started':
        // A turn under another config starts a fresh backend session.
        if (d.config_hash !== before.config_hash)
          changes = { agent_session_id: null, config_hash: d.config_hash! };
        break;
      case 'agent_session.turn_completed':
        changes = {
          turns: (before.turns as number) + 1,
          input_tokens: (before.input_tokens as number) + (d.input_tokens as number),
          output_tokens: (before.output_tokens as number) + (d.output_tokens as number),
          cost: (before.cost as number) + (d.cost as number),
        };
        break;
      case 'agent_session.crashed':
        changes = { crash_reason: d.reason!, agent_session_id: null };
        break;
      case 'agent_session.recovered':
        changes = { crash_reason: null };
        break;
    }
    return { ...before, ...changes, status, last_active_at: at(event), version: event.version };
  },
};
