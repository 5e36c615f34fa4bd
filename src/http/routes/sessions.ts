/** Agent sessions (one per chat and agent): list them, close one. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { sendExisting, transition } from '../commands.ts';
import { errors, IdParams, Limit, Name, SessionRow, Transition, Uuid } from '../schemas.ts';

export function sessionRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { pool, runtime } = deps;
  // eslint-disable-next-line @typescript-eslint/require-await -- fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/sessions',
      {
        schema: {
          summary: 'Agent sessions, most recently active first',
          tags: ['sessions'],
          querystring: Type.Object(
            {
              chat_id: Type.Optional(Uuid),
              agent: Type.Optional(Name),
              status: Type.Optional(
                Type.Union(['idle', 'active', 'crashed', 'closed'].map((s) => Type.Literal(s))),
              ),
              limit: Type.Optional(Limit(500, 100)),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ sessions: Type.Array(SessionRow) }), ...errors(400, 401) },
        },
      },
      async (request) => {
        const q = request.query;
        const { rows } = await pool.query(
          `select * from agent_sessions
           where ($1::uuid is null or chat_id = $1) and ($2::text is null or agent = $2)
             and ($3::text is null or status = $3)
           order by last_active_at desc, id limit $4`,
          [q.chat_id ?? null, q.agent ?? null, q.status ?? null, q.limit ?? 100],
        );
        return { sessions: rows as never[] };
      },
    );

    app.post(
      '/api/sessions/:id/close',
      {
        schema: {
          summary: 'Close an agent session (its chat starts a fresh one next turn)',
          tags: ['sessions'],
          params: IdParams,
          response: { 200: Transition, ...errors(400, 401, 404, 409) },
        },
      },
      async (request) =>
        transition(
          await sendExisting(runtime, 'agent_session', request.params.id, {
            type: 'agent_session.closed',
          }),
        ),
    );
  };
}
