/**
 * The read models say what the actors are: for random histories of every machine, each
 * projection's pure `evolve`, folded over the stored events (data and state_after as they come
 * back from jsonb), gives after every event the rows the actor's own snapshot implies. The
 * SQL around `evolve` is the same for inline projection and rebuild, and
 * test/projections/rebuild.test.ts and the runtime model test check it on PostgreSQL.
 */
import type { AnyMachineSnapshot } from 'xstate';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentSessionContext } from '../../src/machines/agent-session.ts';
import type { FlowRunContext } from '../../src/machines/flow-run.ts';
import { ACTOR_KINDS, type ActorKindName } from '../../src/machines/index.ts';
import type { PendingChangeContext } from '../../src/machines/pending-change.ts';
import type { TaskContext } from '../../src/machines/task.ts';
import { PROJECTIONS } from '../../src/projections/index.ts';
import { keyString } from '../../src/projections/sql.ts';
import type { Row } from '../../src/projections/types.ts';
import { initialSnapshot, step } from '../../src/runtime/replay.ts';
import type { JsonObject, StoredEvent } from '../../src/store/types.ts';
import type { Ev } from '../helpers/machines.ts';
import { sessionHistory } from './arbitraries/agent-session.ts';
import { flowHistory } from './arbitraries/flow-run.ts';
import { changeHistory } from './arbitraries/pending-change.ts';
import { taskHistory } from './arbitraries/task.ts';
import { checkProperty, formatEvents, timeoutFor } from './fc-config.ts';

const RUNS = 300;
const STREAM = '33333333-3333-4333-8333-333333333333';
const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Every read table's rows for one stream, after each accepted event, next to the actor's snapshot. */
function* project(streamType: ActorKindName, events: Ev[]) {
  const kind = ACTOR_KINDS[streamType];
  const tables = new Map(PROJECTIONS.map((p) => [p.table, new Map<string, Row>()]));
  let snapshot = initialSnapshot(kind);
  let version = 0;
  for (const { type, ...data } of events) {
    const next = step(kind, snapshot, { type, data: data as JsonObject });
    if (!next.accepted) continue;
    snapshot = next.snapshot;
    version++;
    const event: StoredEvent = {
      position: version,
      txId: version,
      streamType,
      streamId: STREAM,
      version,
      type,
      data: json(data as JsonObject),
      meta: json({ state_after: kind.stateAfter(snapshot as never) as JsonObject }),
      createdAt: new Date(0),
    };
    for (const projection of PROJECTIONS) {
      if (!projection.streamTypes.includes(streamType)) continue;
      const rows = tables.get(projection.table)!;
      for (const key of projection.keysOf(event)) {
        const k = keyString(projection, key);
        const after = projection.evolve(rows.get(k) ?? null, event, key);
        if (after === null) rows.delete(k);
        else rows.set(k, after);
      }
    }
    const view = (table: string) => [...tables.get(table)!.values()];
    yield { snapshot, event, view };
  }
}

type View = (table: string) => Row[];

function expectTask(s: AnyMachineSnapshot, view: View) {
  const c = s.context as TaskContext;
  expect(view('tasks')).toMatchObject([
    {
      state: s.value as string,
      attempts: c.attempts,
      max_attempts: c.maxAttempts,
      priority: c.priority,
      lease_owner: c.leaseOwner,
      lease_expires_at: c.leaseExpiresAt,
      cost_tokens: c.costTokens,
      input_tokens: c.inputTokens,
      output_tokens: c.outputTokens,
      output_chunks: c.outputChunks,
      output_summary: c.outputSummary,
      error: c.error,
      agent: c.agent,
      model: c.model,
      execution_path: c.executionPath,
      started_at: c.startedAt,
      ended_at: c.endedAt,
      created_at: c.createdAt,
      workdir: c.workdir,
    },
  ]);
  const waits =
    s.value === 'blocked'
      ? [
          {
            kind: c.request!.kind,
            request_id: c.request!.requestId,
            prompt: c.request!.prompt,
          },
        ]
      : s.value === 'failed' && !c.dismissed
        ? [
            {
              kind: 'failed_task',
              prompt: c.error,
              actions: c.attempts < c.maxAttempts ? ['retry', 'dismiss'] : ['dismiss'],
            },
          ]
        : [];
  expect(view('human_inbox')).toMatchObject(waits);
}

function expectFlowRun(s: AnyMachineSnapshot, view: View) {
  const c = s.context as FlowRunContext;
  expect(view('flow_runs')).toMatchObject([
    { status: s.value as string, error: c.error, ended_at: c.endedAt },
  ]);
  expect(view('flow_steps')).toMatchObject(
    c.steps.map((step) => ({
      step_id: step.stepId,
      status: step.status,
      task_id: step.taskId,
      output: step.output,
      error: step.error,
      optional: step.optional,
      depends_on: step.dependsOn,
    })),
  );
}

function expectSession(s: AnyMachineSnapshot, view: View) {
  const c = s.context as AgentSessionContext;
  expect(view('agent_sessions')).toMatchObject([
    {
      status: s.value as string,
      agent_session_id: c.agentSessionId,
      config_hash: c.configHash,
      turns: c.turns,
      input_tokens: c.inputTokens,
      output_tokens: c.outputTokens,
      cost: c.cost,
      crash_reason: c.crashReason,
      last_active_at: c.lastActiveAt,
    },
  ]);
}

const SHOWN_AS: Record<string, string> = { applying: 'pending', reverting: 'applied' };

function expectChange(s: AnyMachineSnapshot, view: View) {
  const c = s.context as PendingChangeContext;
  const value = s.value as string;
  expect(view('pending_changes')).toMatchObject([
    {
      status: SHOWN_AS[value] ?? value,
      task_id: c.taskId,
      file_path: c.filePath,
      operation: c.operation,
      diff: c.diff,
      reason: c.reason,
    },
  ]);
  // Waiting for a person: proposed and not yet decided (a failed apply waits again).
  expect(view('human_inbox').map((r) => r.kind)).toEqual(
    value === 'pending' || value === 'applying' ? ['pending_change'] : [],
  );
}

const CASES: [ActorKindName, fc.Arbitrary<Ev[]>, (s: AnyMachineSnapshot, view: View) => void][] = [
  ['task', taskHistory, expectTask],
  ['flow_run', flowHistory, expectFlowRun],
  ['agent_session', sessionHistory, expectSession],
  ['pending_change', changeHistory, expectChange],
];

describe('projections agree with the actors they project', () => {
  for (const [streamType, history, expectRows] of CASES) {
    it(
      `${streamType}: after every event the read rows are what the actor's snapshot says`,
      () => {
        checkProperty(
          `projections ${streamType}`,
          fc.property(history, (events) => {
            for (const { snapshot, event, view } of project(streamType, events)) {
              try {
                expectRows(snapshot, view);
              } catch (error) {
                throw new Error(`after ${event.type} (version ${event.version})`, { cause: error });
              }
            }
          }),
          RUNS,
          ([events]) => formatEvents(events),
        );
      },
      timeoutFor(RUNS, 60_000),
    );
  }
});
