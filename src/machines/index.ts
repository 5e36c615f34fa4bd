/**
 * The registry of actor kinds: for each stream type its machine, version, the names of
 * its effect actions, and what `meta.state_after` records of a snapshot (enough to catch a
 * changed machine on replay, small enough to keep the log lean).
 */
import type { AnyStateMachine, SnapshotFrom } from 'xstate';
import { agentSessionMachine, version as agentSessionVersion } from './agent-session.ts';
import { flowRunMachine, version as flowRunVersion } from './flow-run.ts';
import { pendingChangeMachine, version as pendingChangeVersion } from './pending-change.ts';
import { taskMachine, version as taskVersion } from './task.ts';

export interface ActorKind<M extends AnyStateMachine = AnyStateMachine> {
  machine: M;
  version: string;
  /** Actions the runtime implements as side effects, run after commit. */
  effects: readonly string[];
  stateAfter(snapshot: SnapshotFrom<M>): Record<string, unknown>;
}

const valueOnly = (snapshot: { value: unknown }) => ({ value: snapshot.value });

export const task: ActorKind<typeof taskMachine> = {
  machine: taskMachine,
  version: taskVersion,
  effects: ['startAgent', 'abortAgent', 'deliverAnswer', 'notifyParent'],
  // `retryable` only where it matters (a failed task): the inbox offers retry from it.
  stateAfter: (s) =>
    s.value === 'failed'
      ? {
          value: s.value,
          attempts: s.context.attempts,
          retryable: s.context.attempts < s.context.maxAttempts,
        }
      : { value: s.value, attempts: s.context.attempts },
};

export const agentSession: ActorKind<typeof agentSessionMachine> = {
  machine: agentSessionMachine,
  version: agentSessionVersion,
  effects: ['startFreshSession', 'stopBackend'],
  stateAfter: valueOnly,
};

export const flowRun: ActorKind<typeof flowRunMachine> = {
  machine: flowRunMachine,
  version: flowRunVersion,
  effects: ['startReadySteps', 'cancelStepTasks'],
  stateAfter: (s) => ({
    value: s.value,
    steps: Object.fromEntries(s.context.steps.map((step) => [step.stepId, step.status])),
    ...(s.context.error === null ? {} : { error: s.context.error }),
  }),
};

export const pendingChange: ActorKind<typeof pendingChangeMachine> = {
  machine: pendingChangeMachine,
  version: pendingChangeVersion,
  effects: ['applyChange', 'revertChange'],
  stateAfter: valueOnly,
};

export const ACTOR_KINDS = {
  task,
  agent_session: agentSession,
  flow_run: flowRun,
  pending_change: pendingChange,
} as const satisfies Record<string, ActorKind>;

export type ActorKindName = keyof typeof ACTOR_KINDS;
