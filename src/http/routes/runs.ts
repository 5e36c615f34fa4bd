/**
 * Flow runs: start one from a plan of steps (a DAG), list them, read one with its steps,
 * cancel it. Paths kept from the existing app (`/api/runs…`). A plan the machine would refuse
 * (a cycle, an unknown dependency, a duplicate step) is a 400 before anything is appended.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFoundError, ValidationError } from '../../errors.ts';
import { planProblem } from '../../machines/flow-run.ts';
import type { AppDeps } from '../app.ts';
import { sendExisting, transition } from '../commands.ts';
import { decodePageCursor, PageCursor, pageOf } from '../pages.ts';
import {
  errors,
  IdParams,
  Limit,
  Name,
  Nullable,
  Text,
  Timestamp,
  Transition,
  Uuid,
} from '../schemas.ts';

const StepPlan = Type.Object(
  {
    step_id: Text({ minLength: 1, maxLength: 200 }),
    kind: Type.Union([Type.Literal('agent'), Type.Literal('code')]),
    agent: Type.Optional(Nullable(Name)),
    depends_on: Type.Optional(
      Type.Array(Text({ minLength: 1, maxLength: 200 }), { maxItems: 200 }),
    ),
    optional: Type.Optional(Type.Boolean()),
    input: Type.Optional(
      Type.Object({}, { additionalProperties: true, description: 'the step task input: {prompt}' }),
    ),
  },
  { additionalProperties: false },
);

const Band = Type.Union([Type.Literal('small'), Type.Literal('medium'), Type.Literal('large')]);
const RunStatus = Type.Union(
  ['running', 'completed', 'failed', 'cancelled'].map((s) => Type.Literal(s)),
);

const CreateRun = Type.Object(
  {
    flow_name: Name,
    band: Type.Optional(Band),
    input: Type.Object(
      { question: Text({ maxLength: 100_000 }) },
      { additionalProperties: true, description: 'what the run is about; steps see it' },
    ),
    steps: Type.Array(StepPlan, { minItems: 1, maxItems: 200 }),
    project_id: Type.Optional(Nullable(Uuid)),
    model: Type.Optional(Nullable(Name)),
  },
  { additionalProperties: false },
);

export const RunRow = Type.Object({
  id: Uuid,
  project_id: Nullable(Uuid),
  flow_name: Type.String(),
  band: Band,
  model: Nullable(Type.String()),
  status: RunStatus,
  input: Type.Object({}, { additionalProperties: true }),
  report: Nullable(Type.String()),
  error: Nullable(Type.String()),
  created_at: Timestamp,
  ended_at: Nullable(Timestamp),
  updated_at: Timestamp,
  version: Type.Integer(),
});

const StepRow = Type.Object({
  step_id: Type.String(),
  kind: Type.String(),
  agent: Nullable(Type.String()),
  optional: Type.Boolean(),
  depends_on: Type.Array(Type.String()),
  status: Type.String(),
  task_id: Nullable(Uuid),
  input: Type.Object({}, { additionalProperties: true }),
  output: Nullable(Type.String()),
  error: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const RunWithSteps = Type.Object({ ...RunRow.properties, steps: Type.Array(StepRow) });

const LIST_RUNS = `
  select *, created_at::text as cursor_at from flow_runs
  where ($1::text is null or status = $1) and ($2::uuid is null or project_id = $2)
    and ($3::timestamptz is null or (created_at, id) < ($3::timestamptz, $4::uuid))
  order by created_at desc, id desc
  limit $5`;

const STEPS = `
  select step_id, kind, agent, optional, depends_on, status, task_id, input, output, error,
         created_at, updated_at
  from flow_steps where run_id = $1 order by ordinal`;

export function runRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { pool, runtime } = deps;

  async function runWithSteps(id: string) {
    const { rows } = await pool.query('select * from flow_runs where id = $1', [id]);
    if (!rows[0]) throw new NotFoundError(`no flow run ${id}`);
    const steps = await pool.query(STEPS, [id]);
    return { ...(rows[0] as Record<string, unknown>), steps: steps.rows };
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- fastify plugins are async by contract
  return async (app) => {
    app.post(
      '/api/runs',
      {
        schema: {
          summary: 'Start a flow run: its steps run as tasks as their dependencies complete',
          tags: ['runs'],
          body: CreateRun,
          response: { 201: RunWithSteps, ...errors(400, 401) },
        },
      },
      async (request, reply) => {
        const b = request.body;
        const problem = planProblem(b.steps);
        if (problem) throw new ValidationError(`steps: ${problem}`);
        const id = randomUUID();
        await runtime.send('flow_run', id, {
          type: 'flow_run.created',
          flow_name: b.flow_name,
          band: b.band ?? 'medium',
          input: b.input,
          steps: b.steps as never,
          project_id: b.project_id ?? null,
          model: b.model ?? null,
          at: new Date().toISOString(),
        });
        return reply.status(201).send((await runWithSteps(id)) as never);
      },
    );

    app.get(
      '/api/runs',
      {
        schema: {
          summary: 'Flow runs, newest first, a page at a time',
          tags: ['runs'],
          querystring: Type.Object(
            {
              status: Type.Optional(RunStatus),
              project_id: Type.Optional(Uuid),
              limit: Type.Optional(Limit(200, 50)),
              cursor: Type.Optional(PageCursor),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ runs: Type.Array(RunRow), next_cursor: Nullable(Type.String()) }),
            ...errors(400, 401),
          },
        },
      },
      async (request) => {
        const q = request.query;
        const limit = q.limit ?? 50;
        const after = decodePageCursor(q.cursor);
        const { rows } = await pool.query<{ id: string; cursor_at: string }>(LIST_RUNS, [
          q.status ?? null,
          q.project_id ?? null,
          after?.at ?? null,
          after?.id ?? null,
          limit + 1,
        ]);
        const page = pageOf(rows, limit);
        return { runs: page.rows as never[], next_cursor: page.next_cursor };
      },
    );

    app.get(
      '/api/runs/:id',
      {
        schema: {
          summary: 'A flow run with its steps',
          tags: ['runs'],
          params: IdParams,
          response: { 200: RunWithSteps, ...errors(400, 401, 404) },
        },
      },
      async (request) => (await runWithSteps(request.params.id)) as never,
    );

    app.post(
      '/api/runs/:id/cancel',
      {
        schema: {
          summary: 'Cancel a flow run: its running steps are cancelled, the rest skipped',
          tags: ['runs'],
          params: IdParams,
          body: Type.Object(
            { reason: Type.Optional(Text({ maxLength: 2000 })) },
            { additionalProperties: false },
          ),
          response: { 200: Transition, ...errors(400, 401, 404, 409) },
        },
      },
      async (request) =>
        transition(
          await sendExisting(runtime, 'flow_run', request.params.id, {
            type: 'flow_run.cancelled',
            ...(request.body.reason ? { reason: request.body.reason } : {}),
          }),
        ),
    );
  };
}
