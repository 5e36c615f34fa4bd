/**
 * The event log, read-only: the global order (gap-safe, resumable with the returned cursor)
 * and one stream's events in version order.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFoundError } from '../../errors.ts';
import { STREAM_TYPES } from '../../store/types.ts';
import type { AppDeps } from '../app.ts';
import { decodeCursor, encodeCursor, eventJson } from '../cursor.ts';
import { Cursor, errors, EventFrame, IdParams, Limit, StreamRange } from '../schemas.ts';

const StreamType = Type.Union(STREAM_TYPES.map((s) => Type.Literal(s)));

export function eventRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { store } = deps;
  // eslint-disable-next-line @typescript-eslint/require-await -- fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/events',
      {
        schema: {
          summary:
            "Events in the log's gap-safe order; pass `next` back as `after` to get exactly what follows",
          tags: ['events'],
          querystring: Type.Object(
            {
              after: Type.Optional(Cursor),
              stream_type: Type.Optional(StreamType),
              limit: Type.Optional(Limit(1000, 100)),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ events: Type.Array(EventFrame), next: Cursor }),
            ...errors(400, 401),
          },
        },
      },
      async (request) => {
        const q = request.query;
        const { events, checkpoint } = await store.readAll({
          after: decodeCursor(q.after),
          limit: q.limit ?? 100,
          ...(q.stream_type ? { streamTypes: [q.stream_type] } : {}),
        });
        return { events: events.map(eventJson) as never[], next: encodeCursor(checkpoint) };
      },
    );

    app.get(
      '/api/streams/:id/events',
      {
        schema: {
          summary: "One stream's events in version order",
          tags: ['events'],
          params: IdParams,
          querystring: StreamRange,
          response: {
            200: Type.Object({ stream_id: Type.String(), events: Type.Array(EventFrame) }),
            ...errors(400, 401, 404),
          },
        },
      },
      async (request) => {
        const from = request.query.from_version ?? 1;
        const limit = request.query.limit ?? 1000;
        const events = await store.readStream(request.params.id, {
          fromVersion: from,
          toVersion: Math.min(2147483647, from + limit - 1),
        });
        if (events.length === 0 && (await store.streamVersion(request.params.id)) === 0) {
          throw new NotFoundError(`no stream ${request.params.id}`);
        }
        return { stream_id: request.params.id, events: events.map(eventJson) as never[] };
      },
    );
  };
}
