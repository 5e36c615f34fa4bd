/** Flow-run events: plans (acyclic by construction, or broken on purpose) and step outcomes. */
import fc from 'fast-check';
import type { StepPlan } from '../../../src/machines/flow-run.ts';
import { at, maybeInvalid, minute, weighted, type Ev } from './common.ts';

export const STEP_IDS = ['a', 'b', 'c', 'd', 'e'];

/** Up to five steps, each depending only on earlier ones: acyclic by construction. */
export const planArb: fc.Arbitrary<StepPlan[]> = fc
  .array(
    fc.record({
      optional: fc.boolean(),
      deps: fc.subarray(STEP_IDS),
      kind: fc.constantFrom('agent' as const, 'code' as const),
    }),
    { minLength: 1, maxLength: 5 },
  )
  .map((steps) =>
    steps.map((s, i) => ({
      step_id: STEP_IDS[i]!,
      kind: s.kind,
      optional: s.optional,
      depends_on: s.deps.filter((d) => STEP_IDS.indexOf(d) < i),
    })),
  );

/** Plans the machine must refuse: a cycle, a duplicate id, an unknown dependency, a bad kind. */
const brokenPlan: fc.Arbitrary<unknown[]> = fc.constantFrom(
  [
    { step_id: 'a', kind: 'agent', depends_on: ['b'] },
    { step_id: 'b', kind: 'agent', depends_on: ['a'] },
  ],
  [
    { step_id: 'a', kind: 'agent' },
    { step_id: 'a', kind: 'code' },
  ],
  [{ step_id: 'a', kind: 'agent', depends_on: ['zz'] }],
  [{ step_id: 'a', kind: 'shell' }],
  [{ step_id: '', kind: 'agent' }],
);

export const flowCreated = (steps: unknown[]): Ev => ({
  type: 'flow_run.created',
  flow_name: 'f',
  band: 'small',
  input: { question: 'q' },
  steps,
  at: minute(0),
});

const stepId = fc.constantFrom(...STEP_IDS, 'zz');

export const flowEvent: fc.Arbitrary<Ev> = fc.oneof(
  weighted(
    1,
    maybeInvalid(
      fc.record({
        type: fc.constant('flow_run.created'),
        flow_name: fc.constant('f'),
        band: fc.constantFrom('small', 'medium', 'large', 'huge'),
        input: fc.constantFrom({ question: 'q' }, { topic: 'no question' }),
        steps: fc.oneof(planArb, brokenPlan),
        at,
      }),
    ),
  ),
  weighted(
    5,
    maybeInvalid(
      fc.record({
        type: fc.constant('flow_run.step_started'),
        step_id: stepId,
        task_id: fc.uuid(),
        at,
      }),
    ),
  ),
  weighted(
    4,
    maybeInvalid(
      fc.record(
        {
          type: fc.constant('flow_run.step_completed'),
          step_id: stepId,
          output: fc.option(fc.string({ maxLength: 8 }), { nil: null }),
          at,
        },
        { requiredKeys: ['type', 'step_id', 'at'] },
      ),
    ),
  ),
  weighted(
    3,
    maybeInvalid(
      fc.record({
        type: fc.constant('flow_run.step_failed'),
        step_id: stepId,
        error: fc.string({ maxLength: 8 }),
        at,
      }),
    ),
  ),
  weighted(
    3,
    maybeInvalid(
      fc.record(
        { type: fc.constant('flow_run.step_cancelled'), step_id: stepId, reason: fc.string(), at },
        { requiredKeys: ['type', 'step_id', 'at'] },
      ),
    ),
  ),
  weighted(
    1,
    fc.record(
      { type: fc.constant('flow_run.cancelled'), reason: fc.string({ maxLength: 8 }), at },
      { requiredKeys: ['type', 'at'] },
    ),
  ),
);

/** Mostly a valid plan first; sometimes a broken one, so `new` refuses too. */
export const flowHistory: fc.Arbitrary<Ev[]> = fc
  .tuple(
    fc.oneof(weighted(6, planArb), weighted(1, brokenPlan)),
    fc.array(flowEvent, { maxLength: 40, size: 'max' }),
  )
  .map(([plan, rest]) => [flowCreated(plan), ...rest]);
