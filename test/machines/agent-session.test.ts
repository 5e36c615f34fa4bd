import { describe, expect, it } from 'vitest';
import { agentSession } from '../../src/machines/index.ts';
import { drive, tryStep, type Ev } from '../helpers/machines.ts';

const T = '2026-01-01T00:00:00.000Z';
const opened: Ev = {
  type: 'agent_session.opened',
  chat_id: '22222222-2222-4222-8222-222222222222',
  agent: 'claude',
  backend: 'acp_warm',
  config_hash: 'h1',
  at: T,
};
const turn = (id: string, hash = 'h1'): Ev => ({
  type: 'agent_session.turn_started',
  turn_id: id,
  config_hash: hash,
  at: T,
});
const done = (id: string, i: number, o: number, cost: number): Ev => ({
  type: 'agent_session.turn_completed',
  turn_id: id,
  input_tokens: i,
  output_tokens: o,
  cost,
  at: T,
});

describe('agent session machine', () => {
  it('goes idle ⇄ active and sums usage per turn', () => {
    const s = drive(agentSession, [
      opened,
      turn('t1'),
      done('t1', 10, 20, 0.5),
      turn('t2'),
      done('t2', 1, 2, 0.25),
    ]);
    expect(s.value).toBe('idle');
    expect(s.context).toMatchObject({ turns: 2, inputTokens: 11, outputTokens: 22, cost: 0.75 });
  });

  it('only completes the current turn, with valid usage', () => {
    const active = drive(agentSession, [opened, turn('t1')]);
    expect(active.value).toBe('active');
    expect(tryStep(agentSession, active, done('other', 1, 1, 1)).accepted).toBe(false);
    expect(tryStep(agentSession, active, done('t1', -1, 1, 1)).accepted).toBe(false);
    expect(tryStep(agentSession, active, turn('t2')).accepted).toBe(false);
  });

  it('starts fresh when the config hash changed', () => {
    const attached = drive(agentSession, [
      opened,
      { type: 'agent_session.backend_attached', agent_session_id: 'b-1', at: T },
    ]);
    expect(attached.context).toMatchObject({ agentSessionId: 'b-1' });
    const same = tryStep(agentSession, attached, turn('t1'));
    expect(same.effects).toEqual([]);
    expect(same.snapshot.context).toMatchObject({ agentSessionId: 'b-1' });
    const changed = tryStep(agentSession, attached, turn('t1', 'h2'));
    expect(changed.effects).toEqual(['startFreshSession']);
    expect(changed.snapshot.context).toMatchObject({ agentSessionId: null, configHash: 'h2' });
  });

  it('crashes with a reason, recovers to idle, and closes for good', () => {
    const crashed = drive(agentSession, [
      opened,
      turn('t1'),
      { type: 'agent_session.crashed', reason: 'exit 1', at: T },
    ]);
    expect(crashed.value).toBe('crashed');
    expect(crashed.context).toMatchObject({ crashReason: 'exit 1', currentTurnId: null });
    expect(tryStep(agentSession, crashed, turn('t2')).accepted).toBe(false);
    const recovered = tryStep(agentSession, crashed, {
      type: 'agent_session.recovered',
      at: T,
    }).snapshot;
    expect(recovered.value).toBe('idle');
    const closed = tryStep(agentSession, recovered, { type: 'agent_session.closed', at: T });
    expect(closed.snapshot.status).toBe('done');
    expect(closed.effects).toEqual(['stopBackend']);
    for (const ev of [
      opened,
      turn('t3'),
      { type: 'agent_session.recovered', at: T },
      { type: 'agent_session.closed', at: T },
    ]) {
      expect(tryStep(agentSession, closed.snapshot, ev).accepted).toBe(false);
    }
  });
});
