/**
 * Random event sequences through each machine, valid and invalid in every state, with the
 * invariants checked after every step and replay determinism at the end.
 */
import fc from 'fast-check';
import type { AnyMachineSnapshot } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  agentSession,
  flowRun,
  pendingChange,
  task,
  type ActorKind,
} from '../../src/machines/index.ts';
import type { PendingChangeContext } from '../../src/machines/pending-change.ts';
import { readySteps, type FlowRunContext } from '../../src/machines/flow-run.ts';
import type { TaskContext } from '../../src/machines/task.ts';
import type { AgentSessionContext } from '../../src/machines/agent-session.ts';
import { fold, initialSnapshot, persist, restore } from '../../src/runtime/replay.ts';
import { tryStep, type Ev } from '../helpers/machines.ts';

const minute = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();
const at = fc.integer({ min: 0, max: 120 }).map(minute);
const worker = fc.constantFrom('w1', 'w2');
const requestId = fc.constantFrom('r1', 'r2');

// Weighted toward the lifecycle (claim, fail, retry, expire) so long histories are common.
const taskEvent: fc.Arbitrary<Ev> = fc.oneof(
  fc.record({
    type: fc.constant('task.created'),
    input: fc.string(),
    at,
    max_attempts: fc.integer({ min: 0, max: 3 }),
  }),
  {
    weight: 5,
    arbitrary: fc.record({
      type: fc.constant('task.claimed'),
      worker_id: worker,
      lease_expires_at: at,
      at,
    }),
  },
  fc.record({
    type: fc.constant('task.started'),
    agent: fc.constant('scripted'),
    model: fc.constant(null),
    execution_path: fc.constant('scripted'),
    at,
  }),
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('task.output_appended'), chunk: fc.string(), at }),
  },
  fc.record({
    type: fc.constant('task.usage_recorded'),
    input_tokens: fc.integer({ min: -1, max: 50 }),
    output_tokens: fc.nat(50),
    cost_tokens: fc.integer({ min: -1, max: 50 }),
    at,
  }),
  fc.record({
    type: fc.constant('task.lease_extended'),
    worker_id: worker,
    lease_expires_at: at,
    at,
  }),
  fc.record({
    type: fc.constant('task.blocked'),
    request_id: requestId,
    kind: fc.constantFrom('permission', 'question'),
    prompt: fc.string(),
    options: fc.array(fc.string(), { maxLength: 3 }),
    at,
  }),
  fc.record({
    type: fc.constant('task.request_answered'),
    request_id: requestId,
    answer: fc.string(),
    at,
  }),
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('task.completed'), output_summary: fc.string(), at }),
  },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('task.failed'), error: fc.string(), at }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('task.retried'), at }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('task.cancelled'), at }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('task.lease_expired'), at }) },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('task.released'), worker_id: worker, at }),
  },
);

const STEP_IDS = ['a', 'b', 'c', 'd', 'e'];
const planArb = fc
  .array(fc.record({ optional: fc.boolean(), deps: fc.subarray(STEP_IDS) }), {
    minLength: 1,
    maxLength: 5,
  })
  .map((steps) =>
    steps.map((s, i) => ({
      step_id: STEP_IDS[i]!,
      kind: 'agent',
      optional: s.optional,
      // Only earlier steps: acyclic by construction.
      depends_on: s.deps.filter((d) => STEP_IDS.indexOf(d) < i),
    })),
  );
const stepId = fc.constantFrom(...STEP_IDS);
const flowEvent: fc.Arbitrary<Ev> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('flow_run.created'),
      flow_name: fc.constant('f'),
      band: fc.constantFrom('small', 'large', 'huge'),
      input: fc.constant({ question: 'q' }),
      steps: planArb,
      at,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('flow_run.step_started'),
      step_id: stepId,
      task_id: fc.uuid(),
      at,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('flow_run.step_completed'),
      step_id: stepId,
      output: fc.string(),
      at,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('flow_run.step_failed'),
      step_id: stepId,
      error: fc.string(),
      at,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('flow_run.step_cancelled'), step_id: stepId, at }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('flow_run.cancelled'), at }) },
);

const turnId = fc.constantFrom('t1', 't2');
const sessionEvent: fc.Arbitrary<Ev> = fc.oneof(
  fc.record({
    type: fc.constant('agent_session.opened'),
    chat_id: fc.constant('22222222-2222-4222-8222-222222222222'),
    agent: fc.constant('claude'),
    backend: fc.constant('acp_warm'),
    config_hash: fc.constantFrom('h1', 'h2'),
    at,
  }),
  fc.record({
    type: fc.constant('agent_session.backend_attached'),
    agent_session_id: fc.string(),
    at,
  }),
  fc.record({
    type: fc.constant('agent_session.turn_started'),
    turn_id: turnId,
    config_hash: fc.constantFrom('h1', 'h2'),
    at,
  }),
  fc.record({
    type: fc.constant('agent_session.turn_completed'),
    turn_id: turnId,
    input_tokens: fc.integer({ min: -1, max: 100 }),
    output_tokens: fc.nat(100),
    cost: fc.nat(10),
    at,
  }),
  fc.record({ type: fc.constant('agent_session.crashed'), reason: fc.string(), at }),
  fc.record({ type: fc.constant('agent_session.recovered'), at }),
  fc.record({ type: fc.constant('agent_session.closed'), at }),
);

/** Runs the sequence, calling `check(before, event, after, accepted)` on every step. */
function run(
  kind: ActorKind,
  events: Ev[],
  check: (
    before: AnyMachineSnapshot,
    event: Ev,
    after: AnyMachineSnapshot,
    accepted: boolean,
  ) => void,
) {
  let snapshot = initialSnapshot(kind);
  const accepted: { type: string; data: never }[] = [];
  for (const event of events) {
    const next = tryStep(kind, snapshot, event);
    if (snapshot.status === 'done') expect(next.accepted).toBe(false);
    check(snapshot, event, next.snapshot, next.accepted);
    if (next.accepted) {
      const { type, ...data } = event;
      accepted.push({ type, data: data as never });
      snapshot = next.snapshot;
    }
  }
  // Replay determinism: from scratch, and from a JSON round-tripped snapshot at any point.
  const replayed = fold(kind, accepted);
  expect(replayed.value).toEqual(snapshot.value);
  expect(replayed.context).toEqual(snapshot.context);
  const cut = Math.floor(accepted.length / 2);
  const middle = JSON.parse(JSON.stringify(persist(fold(kind, accepted.slice(0, cut))))) as never;
  const resumed = fold(kind, accepted.slice(cut), restore(kind, middle));
  expect(resumed.value).toEqual(snapshot.value);
  expect(resumed.context).toEqual(snapshot.context);
}

const withCreation = (first: Ev, rest: fc.Arbitrary<Ev>) =>
  fc.array(rest, { maxLength: 40, size: 'max' }).map((r) => [first, ...r]);

const changeEvent: fc.Arbitrary<Ev> = fc.oneof(
  fc.record({
    type: fc.constant('pending_change.proposed'),
    task_id: fc.constant('11111111-1111-4111-8111-111111111111'),
    workdir: fc.constantFrom('/srv/p', 'relative'),
    file_path: fc.constantFrom('a.ts', 'src/b.ts', '../x.ts', '/etc/passwd', 'a/../../y'),
    operation: fc.constantFrom('create', 'edit', 'delete'),
    diff: fc.string(),
    before: fc.option(fc.string(), { nil: null }),
    after: fc.option(fc.string(), { nil: null }),
    at,
  }),
  { weight: 3, arbitrary: fc.record({ type: fc.constant('pending_change.apply_requested'), at }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('pending_change.applied'), at }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('pending_change.conflicted'),
      reason: fc.string(),
      at,
    }),
  },
  fc.record({
    type: fc.constant('pending_change.rejected'),
    reason: fc.option(fc.string(), { nil: null }),
    at,
  }),
  { weight: 2, arbitrary: fc.record({ type: fc.constant('pending_change.revert_requested'), at }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('pending_change.reverted'), at }) },
);

describe('machine properties', () => {
  it('task: invariants hold after every step, and replay is deterministic', () => {
    const created: Ev = { type: 'task.created', input: 'x', at: minute(0), max_attempts: 2 };
    fc.assert(
      fc.property(
        fc.oneof(
          withCreation(created, taskEvent),
          fc.array(taskEvent, { maxLength: 40, size: 'max' }),
        ),
        (events) => {
          run(task, events, (before, _event, after) => {
            const b = before.context as TaskContext;
            const c = after.context as TaskContext;
            expect(c.attempts).toBeLessThanOrEqual(c.maxAttempts);
            expect(c.costTokens).toBeGreaterThanOrEqual(b.costTokens);
            if (after.value === 'running') expect(c.leaseOwner && c.leaseExpiresAt).toBeTruthy();
            expect(after.value === 'blocked').toBe(c.request !== null);
            if (['completed', 'failed', 'cancelled'].includes(after.value as string))
              expect(c.endedAt).not.toBeNull();
          });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('flow run: steps start only when ready, failure and cancel settle everything, the ready wave matches a reference', () => {
    const reference = (c: FlowRunContext) =>
      c.steps
        .filter(
          (s) =>
            s.status === 'pending' &&
            s.dependsOn.every((d) => c.steps.find((x) => x.stepId === d)?.status === 'completed'),
        )
        .map((s) => s.stepId);
    fc.assert(
      fc.property(planArb, fc.array(flowEvent, { maxLength: 40, size: 'max' }), (plan, rest) => {
        const created: Ev = {
          type: 'flow_run.created',
          flow_name: 'f',
          band: 'small',
          input: { question: 'q' },
          steps: plan,
          at: minute(0),
        };
        run(flowRun, [created, ...rest], (before, event, after, accepted) => {
          const b = before.context as FlowRunContext;
          const c = after.context as FlowRunContext;
          if (accepted && event.type === 'flow_run.step_started') {
            expect(reference(b)).toContain(event.step_id);
          }
          if (after.value === 'cancelled' || after.value === 'failed') {
            expect(c.steps.filter((s) => s.status === 'running' || s.status === 'pending')).toEqual(
              [],
            );
          }
          if (after.value === 'failed')
            expect(
              c.steps.some((s) => !s.optional && ['failed', 'cancelled'].includes(s.status)),
            ).toBe(true);
          if (after.value === 'completed') {
            expect(
              c.steps.every(
                (s) =>
                  s.status === 'completed' ||
                  s.status === 'skipped' ||
                  (s.optional && s.status === 'failed') ||
                  (s.optional && s.status === 'cancelled'),
              ),
            ).toBe(true);
          }
          if (after.value === 'running') {
            expect(c.steps.some((s) => s.status === 'pending' || s.status === 'running')).toBe(
              true,
            );
          }
          expect(readySteps(c).map((s) => s.stepId)).toEqual(reference(c));
        });
      }),
      { numRuns: 400 },
    );
  });

  it('pending change: the disk is touched only on request, outcomes follow requests, paths stay inside', () => {
    const WRITES = new Set(['applying', 'reverting']);
    fc.assert(
      fc.property(fc.array(changeEvent, { maxLength: 40, size: 'max' }), (events) => {
        run(pendingChange, events, (before, event, after, accepted) => {
          const c = after.context as PendingChangeContext;
          if (accepted && event.type === 'pending_change.proposed') {
            expect(c.workdir.startsWith('/')).toBe(true);
            expect(c.filePath.startsWith('/') || c.filePath.startsWith('..')).toBe(false);
            // The content fits the operation, so applying and reverting are both defined.
            expect(
              c.operation === 'create' ? c.before === null : typeof c.before === 'string',
            ).toBe(true);
            expect(c.operation === 'delete' ? c.after === null : typeof c.after === 'string').toBe(
              true,
            );
          }
          // Only a request starts a write, and a write's outcome needs a write in progress.
          if (WRITES.has(after.value as string) && before.value !== after.value) {
            expect(event.type).toMatch(/_requested$/);
          }
          if (
            accepted &&
            [
              'pending_change.applied',
              'pending_change.reverted',
              'pending_change.conflicted',
            ].includes(event.type)
          ) {
            expect(WRITES.has(before.value as string)).toBe(true);
          }
          if (after.value === 'rejected' && before.value !== 'rejected')
            expect(before.value).toBe('pending');
        });
      }),
      { numRuns: 400 },
    );
  });

  it('agent session: usage totals equal the sum of the completed turns, closed absorbs', () => {
    fc.assert(
      fc.property(fc.array(sessionEvent, { maxLength: 40, size: 'max' }), (events) => {
        let input = 0;
        let output = 0;
        let turns = 0;
        run(agentSession, events, (_before, event, after, accepted) => {
          if (accepted && event.type === 'agent_session.turn_completed') {
            input += event.input_tokens as number;
            output += event.output_tokens as number;
            turns++;
          }
          const c = after.context as AgentSessionContext;
          expect({ i: c.inputTokens, o: c.outputTokens, t: c.turns }).toEqual({
            i: input,
            o: output,
            t: turns,
          });
        });
      }),
      { numRuns: 400 },
    );
  });
});
