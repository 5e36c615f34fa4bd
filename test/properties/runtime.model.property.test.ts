/**
 * Model-based test of the runtime on a real PostgreSQL: random command sequences (create,
 * claim, output, usage, block, answer, complete, fail, cancel, retry, dismiss, expire leases,
 * cancel the run, rebuild, restart) over several tasks and one flow run, each checked against a small
 * independent model (runtime-model/model.ts) after it runs. Each run starts from empty tables.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { changeEffects } from '../../src/runtime/changes.ts';
import { flowEffects, stepTaskId } from '../../src/runtime/flows.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { serverLikeRuntime } from '../helpers/runtime.ts';
import { checkAsyncProperty, timeoutFor } from './fc-config.ts';
import { commandArb, type Real } from './runtime-model/commands.ts';
import { expectAgreement } from './runtime-model/agreement.ts';
import { settleRun, type Model, type StepModel } from './runtime-model/model.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const RUNS = 25;
const START = Date.UTC(2026, 0, 1);

/** a → b → d, and c (optional) → d: a required step behind an optional one. */
const PLAN = [
  { step_id: 'a', kind: 'agent' },
  { step_id: 'b', kind: 'code', depends_on: ['a'] },
  { step_id: 'c', kind: 'agent', optional: true },
  { step_id: 'd', kind: 'agent', depends_on: ['b', 'c'] },
] as const;

async function setup(): Promise<{ model: Model; real: Real }> {
  await db.pool.query(
    `truncate events, streams, snapshots, tasks, flow_runs, flow_steps, agent_sessions,
       pending_changes, human_inbox restart identity cascade`,
  );
  const clock = { now: START };
  const now = () => new Date(clock.now);
  const effectErrors: unknown[] = [];
  const start = () =>
    serverLikeRuntime(db.pool, {
      effects: { ...flowEffects(now), ...changeEffects(now) },
      // Small, so loading from a snapshot plus a tail is exercised all the time.
      snapshotEvery: 3,
      onEffectError: (error) => effectErrors.push(error),
    });
  const runtime = start();
  const runId = crypto.randomUUID();
  await runtime.send('flow_run', runId, {
    type: 'flow_run.created',
    flow_name: 'model',
    band: 'small',
    input: { question: 'q' },
    steps: PLAN.map((s) => ({ ...s, depends_on: 'depends_on' in s ? [...s.depends_on] : [] })),
    at: now().toISOString(),
  });
  await runtime.drain();
  const model: Model = {
    now: START,
    tasks: [],
    stepTaskId,
    flow: {
      id: runId,
      status: 'running',
      steps: PLAN.map((s): StepModel => ({
        id: s.step_id,
        dependsOn: 'depends_on' in s ? [...s.depends_on] : [],
        optional: 'optional' in s,
        status: 'pending',
        taskId: null,
      })),
    },
  };
  settleRun(model);
  const real: Real = { pool: db.pool, runtime, restart: start, clock, effectErrors };
  await expectAgreement(model, real);
  return { model, real };
}

describe('runtime against a model (real PostgreSQL)', () => {
  it(
    'after every command the read tables equal the model and every stream replays to its live actor',
    async () => {
      await checkAsyncProperty(
        'runtime model',
        fc.asyncProperty(
          fc.commands(commandArb, { maxCommands: 30, size: 'max' }),
          async (commands) => {
            await fc.asyncModelRun(setup, commands);
          },
        ),
        RUNS,
        // One command a line: `claim(w1)`, `complete(task #3)`… (#n: the nth task, mod the count).
        ([commands]) =>
          `  ${fc
            .stringify(commands)
            .split(/(?<=\)),/)
            .join('\n  ')}`,
      );
    },
    timeoutFor(RUNS, 240_000),
  );
});
