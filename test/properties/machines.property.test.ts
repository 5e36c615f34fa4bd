/**
 * Random histories through each machine, valid and invalid events in every state, with the
 * invariants checked after every step and replay determinism at the end of each history
 * (see machine-properties.ts). The last test fails if any (state, event) pair a machine
 * defines was never exercised across these runs, and prints the counts.
 */
import { describe, expect, it } from 'vitest';
import { agentSession, flowRun, pendingChange, task } from '../../src/machines/index.ts';
import type { Ev } from '../helpers/machines.ts';
import { Coverage } from './coverage.ts';
import { checkProperty, formatEvents, fullSearch, timeoutFor } from './fc-config.ts';
import {
  agentSessionProperty,
  flowRunProperty,
  pendingChangeProperty,
  taskProperty,
  type HistoryProperty,
} from './machine-properties.ts';

/**
 * Runs per property: enough that every (state, event) pair is met many times over (see the
 * counts the coverage test prints). The task has the most pairs, and `blocked` is deep.
 */
const RUNS = { task: 1000, 'flow run': 500, 'agent session': 500, 'pending change': 500 };
const TIMEOUT = timeoutFor(RUNS.task, 60_000);

const formatHistory = ([events, cut]: [Ev[], number]) =>
  `${formatEvents(events)}\n  (replay resumed from a snapshot at cut ${cut} mod the accepted count)`;

const coverage = {
  task: new Coverage('task', task.machine),
  flow_run: new Coverage('flow_run', flowRun.machine),
  agent_session: new Coverage('agent_session', agentSession.machine),
  pending_change: new Coverage('pending_change', pendingChange.machine),
};

const check = (name: keyof typeof RUNS, property: HistoryProperty) =>
  checkProperty(name, property, RUNS[name], formatHistory);

describe('machine properties', () => {
  it(
    'task: terminal states absorb, attempts ≤ max, running ⇒ lease, blocked ⇔ one request, cost grows, ended ⇒ ended_at; replay is exact',
    () => {
      check('task', taskProperty(task, coverage.task));
    },
    TIMEOUT,
  );

  it(
    'flow run: steps start when ready, failures skip dependents and fail the run, completion ⇔ all settled, cancel stops all, the ready wave matches a reference; replay is exact',
    () => {
      check('flow run', flowRunProperty(flowRun, coverage.flow_run));
    },
    TIMEOUT,
  );

  it(
    'agent session: usage totals are the sum of the turns, closed absorbs, a config change starts fresh; replay is exact',
    () => {
      check('agent session', agentSessionProperty(agentSession, coverage.agent_session));
    },
    TIMEOUT,
  );

  it(
    'pending change: the disk is touched only on request, outcomes need a write in progress, the proposal never changes, paths stay inside; replay is exact',
    () => {
      check('pending change', pendingChangeProperty(pendingChange, coverage.pending_change));
    },
    TIMEOUT,
  );

  // Runs after the four above (vitest keeps a file's order): their counts are in.
  it('coverage: every (state, event) pair every machine defines was accepted, and every guard refused, at least once', (ctx) => {
    if (!Object.values(RUNS).every(fullSearch)) ctx.skip(); // a replay (FC_SEED) or a cut-down run (FC_RUNS below default) cannot cover everything
    const all = Object.values(coverage);
    console.log(all.map((c) => c.table()).join('\n'));
    expect(all.flatMap((c) => c.gaps())).toEqual([]);
  });
});
