/**
 * Properties that bite: each machine, broken on purpose in one small way (a guard removed, a
 * wrong target), must make its property fail. A mutant the properties accept would mean the
 * invariants do not say what the machine is for. Mutants exist only here, never in src/.
 */
import fc from 'fast-check';
import { assign, createMachine, type AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  agentSession,
  flowRun,
  pendingChange,
  task,
  type ActorKind,
} from '../../src/machines/index.ts';
import { readySteps } from '../../src/machines/flow-run.ts';
import type { Ev } from '../helpers/machines.ts';
import { fcParameters, formatEvents, runsFor, timeoutFor } from './fc-config.ts';
import {
  agentSessionProperty,
  flowRunProperty,
  pendingChangeProperty,
  taskProperty,
  type HistoryProperty,
} from './machine-properties.ts';

const RUNS = 500;

/** The same machine with one transition's target changed in a copy of its config. */
function retarget(machine: AnyStateMachine, state: string, event: string, target: string) {
  const config = structuredClone(machine.config) as {
    states: Record<string, { on: Record<string, { target?: string }> }>;
  };
  const transition = config.states[state]!.on[event]!;
  expect(transition.target, `${state} ${event} has a single target`).toBeDefined();
  transition.target = target;
  return createMachine(config as never, machine.implementations as never);
}

const mutant = (kind: ActorKind, machine: AnyStateMachine): ActorKind => ({ ...kind, machine });

const MUTANTS: { name: string; property: () => HistoryProperty }[] = [
  {
    name: 'task: retry without the attempts-left guard',
    property: () =>
      taskProperty(mutant(task, task.machine.provide({ guards: { attemptsLeft: () => true } }))),
  },
  {
    name: 'task: an answered request goes back to pending instead of running',
    property: () =>
      taskProperty(
        mutant(task, retarget(task.machine, 'blocked', 'task.request_answered', 'pending')),
      ),
  },
  {
    name: 'task: a lease expiry ignores the deadline',
    property: () =>
      taskProperty(
        mutant(
          task,
          task.machine.provide({
            guards: {
              leaseHasExpired: () => true,
              leaseExpiredWithAttemptsLeft: ({ context }) => context.attempts < context.maxAttempts,
            },
          }),
        ),
      ),
  },
  {
    name: 'flow run: a step starts without its dependencies completed',
    property: () =>
      flowRunProperty(
        mutant(
          flowRun,
          flowRun.machine.provide({
            guards: {
              stepIsReady: ({ context, event }) =>
                event.type === 'flow_run.step_started' &&
                context.steps.some((s) => s.stepId === event.step_id && s.status === 'pending'),
            },
          }),
        ),
      ),
  },
  {
    name: 'flow run: a failed required step does not fail the run',
    property: () =>
      flowRunProperty(
        mutant(flowRun, flowRun.machine.provide({ guards: { requiredStepLost: () => false } })),
      ),
  },
  {
    name: 'flow run: a cancelled run leaves its running steps running',
    property: () =>
      flowRunProperty(
        mutant(
          flowRun,
          flowRun.machine.provide({
            actions: {
              abandonSteps: assign(({ context }) => ({
                steps: context.steps.map((s) =>
                  s.status === 'pending' && !readySteps(context).includes(s)
                    ? { ...s, status: 'skipped' as const }
                    : s,
                ),
              })),
            },
          }),
        ),
      ),
  },
  {
    name: 'agent session: a turn forgets its cost',
    property: () =>
      agentSessionProperty(
        mutant(
          agentSession,
          agentSession.machine.provide({
            actions: {
              addTurnUsage: assign(({ context, event }) =>
                event.type === 'agent_session.turn_completed'
                  ? {
                      turns: context.turns + 1,
                      inputTokens: context.inputTokens + event.input_tokens,
                      outputTokens: context.outputTokens + event.output_tokens,
                      currentTurnId: null,
                    }
                  : {},
              ),
            },
          }),
        ),
      ),
  },
  {
    name: 'agent session: recovering from a crash lands in active',
    property: () =>
      agentSessionProperty(
        mutant(
          agentSession,
          retarget(agentSession.machine, 'crashed', 'agent_session.recovered', 'active'),
        ),
      ),
  },
  {
    name: 'pending change: apply skips the write and lands in applied',
    property: () =>
      pendingChangeProperty(
        mutant(
          pendingChange,
          retarget(pendingChange.machine, 'pending', 'pending_change.apply_requested', 'applied'),
        ),
      ),
  },
  {
    name: 'pending change: a proposal outside its workdir is accepted',
    property: () =>
      pendingChangeProperty(
        mutant(
          pendingChange,
          pendingChange.machine.provide({ guards: { validProposal: () => true } }),
        ),
      ),
  },
];

describe('mutants: every deliberately broken machine fails its property', () => {
  for (const { name, property } of MUTANTS) {
    it(
      name,
      () => {
        // Never fewer runs than the default: FC_RUNS cut down for a replay must not let a mutant live.
        const details = fc.check(property(), {
          ...fcParameters<[Ev[], number]>(RUNS),
          numRuns: Math.max(RUNS, runsFor(RUNS)),
        });
        expect(details.failed, `the properties accepted the mutant "${name}"`).toBe(true);
        const [events] = details.counterexample ?? [[]];
        console.log(`caught "${name}" after ${details.numRuns} run(s):\n${formatEvents(events)}`);
      },
      timeoutFor(RUNS, 60_000),
    );
  }
});
