/** Task events with realistic payloads, valid and invalid, weighted toward the lifecycle. */
import fc from 'fast-check';
import { EXECUTION_PATHS } from '../../../src/machines/task.ts';
import { at, maybeInvalid, minute, weighted, type Ev } from './common.ts';

const worker = fc.constantFrom('w1', 'w2');
const requestId = fc.constantFrom('r1', 'r2');
const text = fc.string({ maxLength: 8 });

export const taskCreated: fc.Arbitrary<Ev> = fc.record(
  {
    type: fc.constant('task.created'),
    input: text,
    at,
    project_id: fc.option(fc.uuid(), { nil: null }),
    agent: fc.constantFrom('claude', 'scripted', null),
    workdir: fc.constantFrom('/srv/p', null),
    priority: fc.integer({ min: -2, max: 2 }),
    max_attempts: fc.integer({ min: 1, max: 3 }),
  },
  { requiredKeys: ['type', 'input', 'at'] },
);

export const taskEvent: fc.Arbitrary<Ev> = fc.oneof(
  weighted(1, maybeInvalid(taskCreated, 4)),
  weighted(
    5,
    maybeInvalid(
      fc.record({ type: fc.constant('task.claimed'), worker_id: worker, lease_expires_at: at, at }),
    ),
  ),
  weighted(
    1,
    maybeInvalid(
      fc.record({
        type: fc.constant('task.started'),
        agent: fc.constantFrom('scripted', 'claude'),
        model: fc.constantFrom(null, 'gpt'),
        execution_path: fc.constantFrom(...EXECUTION_PATHS),
        at,
      }),
      4,
    ),
  ),
  weighted(2, fc.record({ type: fc.constant('task.output_appended'), chunk: text, at })),
  weighted(
    2,
    maybeInvalid(
      fc.record({
        type: fc.constant('task.usage_recorded'),
        input_tokens: fc.nat(50),
        output_tokens: fc.nat(50),
        cost_tokens: fc.nat(50),
        at,
      }),
    ),
  ),
  weighted(
    1,
    maybeInvalid(
      fc.record({
        type: fc.constant('task.lease_extended'),
        worker_id: worker,
        lease_expires_at: at,
        at,
      }),
    ),
  ),
  weighted(
    3,
    maybeInvalid(
      fc.record({
        type: fc.constant('task.blocked'),
        request_id: requestId,
        kind: fc.constantFrom('permission', 'question'),
        prompt: text,
        options: fc.array(text, { maxLength: 3 }),
        at,
      }),
    ),
  ),
  weighted(
    2,
    maybeInvalid(
      fc.record({
        type: fc.constant('task.request_answered'),
        request_id: requestId,
        answer: text,
        at,
      }),
    ),
  ),
  weighted(
    1,
    maybeInvalid(fc.record({ type: fc.constant('task.completed'), output_summary: text, at }), 4),
  ),
  weighted(
    4,
    maybeInvalid(
      fc.record(
        {
          type: fc.constant('task.failed'),
          error: text,
          output_summary: fc.option(text, { nil: null }),
          at,
        },
        { requiredKeys: ['type', 'error', 'at'] },
      ),
    ),
  ),
  weighted(4, fc.record({ type: fc.constant('task.retried'), at })),
  weighted(2, fc.record({ type: fc.constant('task.dismissed'), at })),
  weighted(
    1,
    fc.record(
      { type: fc.constant('task.cancelled'), reason: text, at },
      { requiredKeys: ['type', 'at'] },
    ),
  ),
  weighted(3, fc.record({ type: fc.constant('task.lease_expired'), at })),
  weighted(
    1,
    maybeInvalid(fc.record({ type: fc.constant('task.released'), worker_id: worker, at })),
  ),
);

const created: Ev = { type: 'task.created', input: 'x', at: minute(0), max_attempts: 2 };
const claimed: Ev = {
  type: 'task.claimed',
  worker_id: 'w1',
  lease_expires_at: minute(60),
  at: minute(1),
};
const blocked: Ev = {
  type: 'task.blocked',
  request_id: 'r1',
  kind: 'question',
  prompt: 'ok?',
  at: minute(2),
};
const rest = fc.array(taskEvent, { maxLength: 40, size: 'max' });

/**
 * A created task followed by anything; sometimes one already waiting for a person (the
 * blocked state is otherwise rare); sometimes anything at all (creation late or never).
 */
export const taskHistory: fc.Arbitrary<Ev[]> = fc.oneof(
  weighted(
    4,
    rest.map((r) => [created, ...r]),
  ),
  weighted(
    2,
    rest.map((r) => [created, claimed, blocked, ...r]),
  ),
  weighted(1, rest),
);
