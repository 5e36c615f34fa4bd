/**
 * Tasks: create, list (filters, newest first, cursor pages), read (row + recent output),
 * cancel, retry, and the output stream so far. Paths kept from the existing app.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { AppDeps } from '../app.ts';
import { sendExisting, transition } from '../commands.ts';
import { decodePageCursor, PageCursor, pageOf } from '../pages.ts';
import {
  errors,
  IdParams,
  Limit,
  Name,
  Nullable,
  TaskRow,
  TaskState,
  Text,
  Timestamp,
  Transition,
  Uuid,
} from '../schemas.ts';

const CreateTask = Type.Object(
  {
    input: Text({ minLength: 1, description: 'what the agent is asked to do' }),
    project_id: Type.Optional(Nullable(Uuid)),
    agent: Type.Optional(Nullable(Name)),
    model: Type.Optional(Nullable(Name)),
    mode: Type.Optional(Nullable(Name)),
    priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000 })),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    parent_task_id: Type.Optional(Nullable(Uuid)),
    chat_id: Type.Optional(Nullable(Uuid)),
    session_id: Type.Optional(Nullable(Uuid)),
    workdir: Type.Optional(
      Nullable(Text({ minLength: 1, maxLength: 4096, description: 'absolute path' })),
    ),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  {
    state: Type.Optional(TaskState),
    project_id: Type.Optional(Uuid),
    agent: Type.Optional(Name),
    limit: Type.Optional(Limit(200, 50)),
    cursor: Type.Optional(PageCursor),
  },
  { additionalProperties: false },
);

const OutputChunk = Type.Object({ version: Type.Integer(), chunk: Type.String(), at: Timestamp });

const RECENT_CHUNKS = 50;

// Newest first; the cursor is the last row's (created_at, id), exact to the microsecond.
const LIST_TASKS = `
  select *, created_at::text as cursor_at from tasks
  where ($1::text is null or state = $1)
    and ($2::uuid is null or project_id = $2)
    and ($3::text is null or agent = $3)
    and ($4::timestamptz is null or (created_at, id) < ($4::timestamptz, $5::uuid))
  order by created_at desc, id desc
  limit $6`;

const OUTPUT = `
  select version, data->>'chunk' as chunk, data->>'at' as at from events
  where stream_id = $1 and type = 'task.output_appended' and version > $2
  order by version limit $3`;

const RECENT_OUTPUT = `
  select * from (
    select version, data->>'chunk' as chunk, data->>'at' as at from events
    where stream_id = $1 and type = 'task.output_appended'
    order by version desc limit $2) recent
  order by version`;

export function taskRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { pool, runtime } = deps;

  async function taskRow(id: string) {
    const { rows } = await pool.query('select * from tasks where id = $1', [id]);
    if (!rows[0]) throw new NotFoundError(`no task ${id}`);
    return rows[0] as Record<string, unknown>;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- fastify plugins are async by contract
  return async (app) => {
    app.post(
      '/api/tasks',
      {
        schema: {
          summary: 'Queue a task (no agent: the default agent)',
          tags: ['tasks'],
          body: CreateTask,
          response: { 201: TaskRow, ...errors(400, 401, 409) },
        },
      },
      async (request, reply) => {
        const b = request.body;
        if (b.workdir && !b.workdir.startsWith('/')) {
          throw new ValidationError('workdir must be an absolute path', {
            details: { workdir: b.workdir },
          });
        }
        if (b.agent && deps.agents) {
          const known = [
            ...deps.agents.builtIn,
            ...(await deps.agents.definitions()).map((d) => d.name),
          ];
          if (!known.includes(b.agent)) {
            throw new ValidationError(`unknown agent "${b.agent}"`, { details: { known } });
          }
        }
        const id = randomUUID();
        await runtime.send('task', id, {
          type: 'task.created',
          input: b.input,
          at: new Date().toISOString(),
          project_id: b.project_id ?? null,
          parent_task_id: b.parent_task_id ?? null,
          chat_id: b.chat_id ?? null,
          session_id: b.session_id ?? null,
          agent: b.agent ?? null,
          model: b.model ?? null,
          mode_id: b.mode ?? null,
          workdir: b.workdir ?? null,
          ...(b.priority === undefined ? {} : { priority: b.priority }),
          ...(b.max_attempts === undefined ? {} : { max_attempts: b.max_attempts }),
        });
        return reply.status(201).send((await taskRow(id)) as never);
      },
    );

    app.get(
      '/api/tasks',
      {
        schema: {
          summary: 'List tasks, newest first',
          tags: ['tasks'],
          querystring: ListQuery,
          response: {
            200: Type.Object({ tasks: Type.Array(TaskRow), next_cursor: Nullable(Type.String()) }),
            ...errors(400, 401),
          },
        },
      },
      async (request) => {
        const q = request.query;
        const limit = q.limit ?? 50;
        const after = decodePageCursor(q.cursor);
        const { rows } = await pool.query<
          Record<string, unknown> & { cursor_at: string; id: string }
        >(LIST_TASKS, [
          q.state ?? null,
          q.project_id ?? null,
          q.agent ?? null,
          after?.at ?? null,
          after?.id ?? null,
          limit + 1,
        ]);
        const page = pageOf(rows, limit);
        return { tasks: page.rows as never[], next_cursor: page.next_cursor };
      },
    );

    app.get(
      '/api/tasks/:id',
      {
        schema: {
          summary: 'A task and its most recent output',
          tags: ['tasks'],
          params: IdParams,
          response: {
            200: Type.Object({ task: TaskRow, recent_output: Type.Array(OutputChunk) }),
            ...errors(400, 401, 404),
          },
        },
      },
      async (request) => {
        const task = await taskRow(request.params.id);
        const { rows } = await pool.query(RECENT_OUTPUT, [request.params.id, RECENT_CHUNKS]);
        return { task: task as never, recent_output: rows as never[] };
      },
    );

    app.get(
      '/api/tasks/:id/output',
      {
        schema: {
          summary: 'The output stream so far (resume with `after`, a chunk version)',
          tags: ['tasks'],
          params: IdParams,
          querystring: Type.Object(
            {
              after: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, default: 0 })),
              limit: Type.Optional(Limit(5000, 1000)),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              task_id: Uuid,
              state: TaskState,
              chunks: Type.Array(OutputChunk),
              text: Type.String({ description: 'the chunks joined' }),
            }),
            ...errors(400, 401, 404),
          },
        },
      },
      async (request) => {
        const task = await taskRow(request.params.id);
        const { rows } = await pool.query<{ version: number; chunk: string; at: string }>(OUTPUT, [
          request.params.id,
          request.query.after ?? 0,
          request.query.limit ?? 1000,
        ]);
        return {
          task_id: request.params.id,
          state: task.state as never,
          chunks: rows,
          text: rows.map((r) => r.chunk).join(''),
        };
      },
    );

    const action = (verb: string, summary: string, command: { type: string; reason?: string }) =>
      app.post(
        `/api/tasks/:id/${verb}`,
        {
          schema: {
            summary,
            tags: ['tasks'],
            params: IdParams,
            response: { 200: Transition, ...errors(400, 401, 404, 409) },
          },
        },
        async (request) =>
          transition(await sendExisting(runtime, 'task', request.params.id, command)),
      );
    action('cancel', 'Cancel a pending, running or blocked task (a running agent is stopped)', {
      type: 'task.cancelled',
      reason: 'cancelled by a person',
    });
    action('retry', 'Retry a failed task that has attempts left', { type: 'task.retried' });
  };
}
