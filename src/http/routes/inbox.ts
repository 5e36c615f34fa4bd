/**
 * The human inbox: what waits for a person, and resolving it. Each item lists the actions
 * that resolve it; an action it does not list is a 400, and each accepted one becomes the
 * command of the stream that waits (the task, or the pending change).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { AppDeps } from '../app.ts';
import { transition } from '../commands.ts';
import { errors, IdParams, InboxItem, Limit, Name, Text, Transition, Uuid } from '../schemas.ts';

const Resolve = Type.Object(
  {
    action: Name,
    answer: Type.Optional(Text({ maxLength: 100_000, description: 'the answer to a question' })),
    reason: Type.Optional(Text({ maxLength: 10_000, description: 'why a change is rejected' })),
  },
  { additionalProperties: false },
);

interface InboxRow {
  id: string;
  kind: 'permission' | 'question' | 'failed_task' | 'pending_change';
  request_id: string | null;
  actions: string[];
}

/** The command an inbox action sends, and to which stream. */
function commandFor(
  item: InboxRow,
  body: { action: string; answer?: string; reason?: string },
): { streamType: 'task' | 'pending_change'; command: { type: string } & Record<string, string> } {
  const at = new Date().toISOString();
  switch (item.kind) {
    case 'permission':
      return {
        streamType: 'task',
        command: {
          type: 'task.request_answered',
          request_id: item.request_id!,
          answer: body.action,
          at,
        },
      };
    case 'question':
      if (body.answer === undefined)
        throw new ValidationError('answering a question needs `answer`');
      return {
        streamType: 'task',
        command: {
          type: 'task.request_answered',
          request_id: item.request_id!,
          answer: body.answer,
          at,
        },
      };
    case 'failed_task':
      return {
        streamType: 'task',
        command: { type: body.action === 'retry' ? 'task.retried' : 'task.dismissed', at },
      };
    case 'pending_change':
      return {
        streamType: 'pending_change',
        command:
          body.action === 'apply'
            ? { type: 'pending_change.apply_requested', at }
            : {
                type: 'pending_change.rejected',
                at,
                ...(body.reason ? { reason: body.reason } : {}),
              },
      };
  }
}

export function inboxRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { pool, runtime } = deps;
  // eslint-disable-next-line @typescript-eslint/require-await -- fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/inbox',
      {
        schema: {
          summary: 'What waits for a person, newest first',
          tags: ['inbox'],
          querystring: Type.Object(
            {
              kind: Type.Optional(InboxItem.properties.kind),
              task_id: Type.Optional(Uuid),
              limit: Type.Optional(Limit(500, 100)),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ items: Type.Array(InboxItem) }), ...errors(400, 401) },
        },
      },
      async (request) => {
        const q = request.query;
        const { rows } = await pool.query(
          `select * from human_inbox
           where ($1::text is null or kind = $1) and ($2::uuid is null or task_id = $2)
           order by created_at desc, id desc limit $3`,
          [q.kind ?? null, q.task_id ?? null, q.limit ?? 100],
        );
        return { items: rows as never[] };
      },
    );

    app.post(
      '/api/inbox/:id/resolve',
      {
        schema: {
          summary:
            'Resolve an item: allow/reject (or pick an option of) a permission, answer a question, retry or dismiss a failed task, apply or reject a change',
          tags: ['inbox'],
          params: IdParams,
          body: Resolve,
          response: { 200: Transition, ...errors(400, 401, 404, 409) },
        },
      },
      async (request) => {
        const { rows } = await pool.query<InboxRow>(
          'select id, kind, request_id, actions from human_inbox where id = $1',
          [request.params.id],
        );
        const item = rows[0];
        if (!item) throw new NotFoundError(`no inbox item ${request.params.id}`);
        if (!item.actions.includes(request.body.action)) {
          throw new ValidationError(
            `this ${item.kind.replace('_', ' ')} is resolved by ${item.actions.join(' or ')}, not "${request.body.action}"`,
            { details: { actions: item.actions } },
          );
        }
        const { streamType, command } = commandFor(item, request.body);
        return transition(await runtime.send(streamType, item.id, command));
      },
    );
  };
}
