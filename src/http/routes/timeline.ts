/**
 * Time travel: any stream's history as a timeline (each event with the state it produced),
 * and the actor's exact state after any version — folded from the log, no effect re-run.
 * The UI's scrubber walks the first and asks the second.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFoundError } from '../../errors.ts';
import { acceptedEventTypes, isTerminal } from '../../runtime/replay.ts';
import type { StreamType } from '../../store/types.ts';
import type { AppDeps } from '../app.ts';
import { encodeCursor } from '../cursor.ts';
import { Cursor, errors, IdParams, Timestamp, Uuid, StreamRange } from '../schemas.ts';

const STREAM = 'select stream_type, version from streams where stream_id = $1';

const TIMELINE = `
  select position, tx_id as "txId", version, type, meta->'state_after' as state_after, created_at
  from events where stream_id = $1 and version >= $2 order by version limit $3`;

const Entry = Type.Object({
  version: Type.Integer(),
  position: Type.Integer(),
  cursor: Cursor,
  type: Type.String(),
  state_after: Type.Unknown({ description: 'the state this event produced, as recorded' }),
  created_at: Timestamp,
});

const StateAt = Type.Object({
  stream_id: Uuid,
  stream_type: Type.String(),
  version: Type.Integer({ description: 'the version this is the state after' }),
  head_version: Type.Integer({ description: "the stream's latest version" }),
  value: Type.Unknown({ description: 'the state value' }),
  context: Type.Object({}, { additionalProperties: true }),
  final: Type.Boolean({ description: 'true when the actor can change no more' }),
  accepted_events: Type.Array(Type.String(), {
    description: 'event types the machine would consider in this state',
  }),
});

export function timelineRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { pool, runtime } = deps;

  async function head(id: string) {
    const { rows } = await pool.query<{ stream_type: StreamType; version: number }>(STREAM, [id]);
    if (!rows[0]) throw new NotFoundError(`no stream ${id}`);
    return rows[0];
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/streams/:id/timeline',
      {
        schema: {
          summary: "A stream's history: each event with the state it produced",
          tags: ['time travel'],
          params: IdParams,
          querystring: StreamRange,
          response: {
            200: Type.Object({
              stream_id: Uuid,
              stream_type: Type.String(),
              head_version: Type.Integer(),
              entries: Type.Array(Entry),
            }),
            ...errors(400, 401, 404),
          },
        },
      },
      async (request) => {
        const { id } = request.params;
        const stream = await head(id);
        const { rows } = await pool.query<{
          position: number;
          txId: number;
          version: number;
          type: string;
          state_after: unknown;
          created_at: Date;
        }>(TIMELINE, [id, request.query.from_version ?? 1, request.query.limit ?? 1000]);
        return {
          stream_id: id,
          stream_type: stream.stream_type,
          head_version: stream.version,
          entries: rows.map((r) => ({
            version: r.version,
            position: r.position,
            cursor: encodeCursor({ txId: r.txId, position: r.position }),
            type: r.type,
            state_after: r.state_after,
            created_at: r.created_at.toISOString(),
          })),
        };
      },
    );

    app.get(
      '/api/streams/:id/state',
      {
        schema: {
          summary:
            'The exact state of an actor after a version (default: now), folded from the log with no effect run',
          tags: ['time travel'],
          params: IdParams,
          querystring: Type.Object(
            { version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })) },
            { additionalProperties: false },
          ),
          response: { 200: StateAt, ...errors(400, 401, 404) },
        },
      },
      async (request) => {
        const { id } = request.params;
        const stream = await head(id);
        const version = request.query.version ?? stream.version;
        if (version > stream.version) {
          throw new NotFoundError(
            `stream ${id} has ${stream.version} events; there is no version ${version}`,
          );
        }
        const actor = await runtime.loadAt(stream.stream_type, id, version);
        return {
          stream_id: id,
          stream_type: stream.stream_type,
          version: actor.version,
          head_version: stream.version,
          value: actor.snapshot.value,
          context: actor.snapshot.context as Record<string, unknown>,
          final: isTerminal(actor.snapshot),
          accepted_events: acceptedEventTypes(actor.snapshot),
        };
      },
    );
  };
}
