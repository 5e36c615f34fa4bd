/**
 * Pending changes: list them per task or session, and apply, reject or revert one. Apply and
 * revert are requests: the effect that writes the disk runs after the request commits and
 * records applied/reverted, or conflicted with the reason.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFoundError } from '../../errors.ts';
import type { AppDeps } from '../app.ts';
import { sendExisting, transition } from '../commands.ts';
import { ChangeRow, errors, IdParams, Limit, Text, Transition, Uuid } from '../schemas.ts';

export function changeRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { pool, runtime } = deps;
  // eslint-disable-next-line @typescript-eslint/require-await -- fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/changes',
      {
        schema: {
          summary: 'Pending changes of a task or an agent session, oldest first',
          tags: ['changes'],
          querystring: Type.Object(
            {
              task_id: Type.Optional(Uuid),
              session_id: Type.Optional(Uuid),
              status: Type.Optional(
                Type.Union(
                  ['pending', 'applied', 'rejected', 'reverted'].map((s) => Type.Literal(s)),
                ),
              ),
              limit: Type.Optional(Limit(1000, 200)),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ changes: Type.Array(ChangeRow) }), ...errors(400, 401) },
        },
      },
      async (request) => {
        const q = request.query;
        const { rows } = await pool.query(
          `select * from pending_changes
           where ($1::uuid is null or task_id = $1) and ($2::uuid is null or session_id = $2)
             and ($3::text is null or status = $3)
           order by created_at, id limit $4`,
          [q.task_id ?? null, q.session_id ?? null, q.status ?? null, q.limit ?? 200],
        );
        return { changes: rows as never[] };
      },
    );

    app.get(
      '/api/changes/:id',
      {
        schema: {
          summary: 'One pending change',
          tags: ['changes'],
          params: IdParams,
          response: { 200: ChangeRow, ...errors(400, 401, 404) },
        },
      },
      async (request) => {
        const { rows } = await pool.query('select * from pending_changes where id = $1', [
          request.params.id,
        ]);
        if (!rows[0]) throw new NotFoundError(`no pending change ${request.params.id}`);
        return rows[0] as never;
      },
    );

    const verb = (
      name: string,
      summary: string,
      type: string,
      body?: ReturnType<typeof Type.Object>,
    ) =>
      app.post(
        `/api/changes/:id/${name}`,
        {
          schema: {
            summary,
            tags: ['changes'],
            params: IdParams,
            ...(body ? { body } : {}),
            response: { 200: Transition, ...errors(400, 401, 404, 409) },
          },
        },
        async (request) => {
          const reason = (request.body as { reason?: string } | undefined)?.reason;
          return transition(
            await sendExisting(runtime, 'pending_change', request.params.id, {
              type,
              ...(reason ? { reason } : {}),
            }),
          );
        },
      );
    verb(
      'apply',
      'Write a pending change to disk (conflicts are reported, never overwritten)',
      'pending_change.apply_requested',
    );
    verb(
      'reject',
      'Reject a pending change',
      'pending_change.rejected',
      Type.Object(
        { reason: Type.Optional(Text({ maxLength: 10_000 })) },
        { additionalProperties: false },
      ),
    );
    verb('revert', 'Undo an applied change on disk', 'pending_change.revert_requested');
  };
}
