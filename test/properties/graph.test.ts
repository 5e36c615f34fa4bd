/**
 * xstate's own graph search over each machine, with one well-formed event of every type:
 * the shortest paths must reach every state the machine declares (a state no event sequence
 * reaches is dead code, or a guard that can never pass), and each path must replay through
 * the runtime's fold to the state it claims.
 */
import { getShortestPaths } from 'xstate/graph';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  agentSession,
  flowRun,
  pendingChange,
  task,
  type ActorKind,
} from '../../src/machines/index.ts';
import { fold } from '../../src/runtime/replay.ts';
import type { JsonObject } from '../../src/store/types.ts';
import type { Ev } from '../helpers/machines.ts';
import { minute } from './arbitraries/common.ts';
import { flowCreated } from './arbitraries/flow-run.ts';

const TASK_ID = '11111111-1111-4111-8111-111111111111';

const SAMPLES: Record<string, { kind: ActorKind; events: Ev[]; byContext?: boolean }> = {
  task: {
    kind: task,
    events: [
      { type: 'task.created', input: 'x', at: minute(0) },
      { type: 'task.claimed', worker_id: 'w1', lease_expires_at: minute(10), at: minute(1) },
      {
        type: 'task.started',
        agent: 'scripted',
        model: null,
        execution_path: 'scripted',
        at: minute(1),
      },
      { type: 'task.output_appended', chunk: 'hi', at: minute(2) },
      {
        type: 'task.usage_recorded',
        input_tokens: 1,
        output_tokens: 1,
        cost_tokens: 1,
        at: minute(2),
      },
      { type: 'task.lease_extended', worker_id: 'w1', lease_expires_at: minute(10), at: minute(2) },
      { type: 'task.blocked', request_id: 'r1', kind: 'question', prompt: '?', at: minute(3) },
      { type: 'task.request_answered', request_id: 'r1', answer: 'y', at: minute(4) },
      { type: 'task.completed', output_summary: 'done', at: minute(5) },
      { type: 'task.failed', error: 'boom', at: minute(5) },
      { type: 'task.retried', at: minute(6) },
      { type: 'task.dismissed', at: minute(6) },
      { type: 'task.cancelled', at: minute(7) },
      { type: 'task.lease_expired', at: minute(20) },
      { type: 'task.released', worker_id: 'w1', at: minute(7) },
    ],
  },
  flow_run: {
    kind: flowRun,
    // The run ends on its steps' statuses, so the search tells states apart by context too
    // (finite here: a fixed plan and fixed events).
    byContext: true,
    events: [
      flowCreated([
        { step_id: 'a', kind: 'agent' },
        { step_id: 'b', kind: 'code', depends_on: ['a'] },
      ]),
      { type: 'flow_run.step_started', step_id: 'a', task_id: TASK_ID, at: minute(1) },
      { type: 'flow_run.step_started', step_id: 'b', task_id: TASK_ID, at: minute(1) },
      { type: 'flow_run.step_completed', step_id: 'a', output: 'ok', at: minute(2) },
      { type: 'flow_run.step_completed', step_id: 'b', output: 'ok', at: minute(2) },
      { type: 'flow_run.step_failed', step_id: 'a', error: 'boom', at: minute(2) },
      { type: 'flow_run.cancelled', at: minute(3) },
    ],
  },
  agent_session: {
    kind: agentSession,
    events: [
      {
        type: 'agent_session.opened',
        chat_id: TASK_ID,
        agent: 'claude',
        backend: 'acp_warm',
        config_hash: 'h1',
        at: minute(0),
      },
      { type: 'agent_session.backend_attached', agent_session_id: 's1', at: minute(1) },
      { type: 'agent_session.turn_started', turn_id: 't1', config_hash: 'h1', at: minute(1) },
      {
        type: 'agent_session.turn_completed',
        turn_id: 't1',
        input_tokens: 1,
        output_tokens: 1,
        cost: 0.5,
        at: minute(2),
      },
      { type: 'agent_session.crashed', reason: 'gone', at: minute(3) },
      { type: 'agent_session.recovered', at: minute(4) },
      { type: 'agent_session.closed', at: minute(5) },
    ],
  },
  pending_change: {
    kind: pendingChange,
    events: [
      {
        type: 'pending_change.proposed',
        task_id: TASK_ID,
        workdir: '/srv/p',
        file_path: 'a.ts',
        operation: 'edit',
        diff: '-a\n+b',
        before: 'a\n',
        after: 'b\n',
        at: minute(0),
      },
      { type: 'pending_change.apply_requested', at: minute(1) },
      { type: 'pending_change.applied', at: minute(2) },
      { type: 'pending_change.conflicted', reason: 'changed on disk', at: minute(2) },
      { type: 'pending_change.rejected', at: minute(1) },
      { type: 'pending_change.revert_requested', at: minute(3) },
      { type: 'pending_change.reverted', at: minute(4) },
    ],
  },
};

describe('graph search (xstate/graph shortest paths)', () => {
  for (const [name, { kind, events, byContext }] of Object.entries(SAMPLES)) {
    it(`${name}: reaches every state the machine declares, on paths the runtime replays`, () => {
      const machine: AnyStateMachine = kind.machine;
      const paths = getShortestPaths(machine, {
        events: events as never,
        serializeState: (s: AnyMachineSnapshot) =>
          JSON.stringify(byContext ? { v: s.value as unknown, c: s.context as unknown } : s.value),
      });
      const reached = new Map<string, Ev[]>();
      for (const path of paths) {
        const value = String(path.state.value);
        const steps = path.steps
          .map((s) => s.event as Ev)
          .filter((e) => !e.type.startsWith('xstate.'));
        const shortest = reached.get(value);
        if (!shortest || steps.length < shortest.length) reached.set(value, steps);
      }
      expect([...reached.keys()].sort()).toEqual(Object.keys(machine.root.states).sort());
      for (const [value, steps] of reached) {
        const replayed = fold(
          kind,
          steps.map(({ type, ...data }) => ({ type, data: data as JsonObject })),
        );
        expect(replayed.value, `${name} via ${steps.map((s) => s.type).join(' → ')}`).toBe(value);
      }
      console.log(
        [...reached]
          .map(
            ([v, steps]) =>
              `  ${name} ${v}: ${steps.map((s) => s.type.split('.')[1]).join(' → ') || '(initial)'}`,
          )
          .join('\n'),
      );
    });
  }
});
