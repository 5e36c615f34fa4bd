/**
 * TypeBox schemas the routes share: ids, text, the error body, and the read-table rows the
 * API returns (snake_case, as the tables name their columns). Every route declares its
 * params, query, body and responses with these, so validation and the OpenAPI document
 * come from one source.
 */
import { Type, type TSchema } from 'typebox';

/** Ids are UUIDs; anything else is a 400 before a query runs. */
export const Uuid = Type.String({ format: 'uuid', description: 'a UUID' });

/**
 * Text PostgreSQL can store: no NUL character (text and jsonb refuse it, which would
 * otherwise surface as a 500).
 */
export const Text = (
  options: { maxLength?: number; minLength?: number; description?: string } = {},
) => Type.String({ pattern: '^[^\\u0000]*$', maxLength: 100_000, ...options });

export const Name = Text({ minLength: 1, maxLength: 200 });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Timestamp = Type.String({ format: 'date-time' });

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    }),
  },
  { description: 'every error: a stable code, a message for people, details when useful' },
);

/** The errors a route documents, by status. */
export const errors = (...statuses: (400 | 401 | 404 | 409)[]) =>
  Object.fromEntries(statuses.map((s) => [s, ErrorBody])) as Record<number, typeof ErrorBody>;

/** Where a gap-safe reader stands in the log: `<tx_id>:<position>`, or `0` for the start. */
export const Cursor = Type.String({
  pattern: '^(0|[0-9]{1,15}:[0-9]{1,15})$',
  description:
    'a log cursor `<tx_id>:<position>` (or `0`, the start) as returned in `next` or a frame',
});

export const Limit = (max: number, fallback: number) =>
  Type.Integer({ minimum: 1, maximum: max, default: fallback });

/** A window on one stream's events: from a version, so many. */
export const StreamRange = Type.Object(
  {
    from_version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
    limit: Type.Optional(Limit(10_000, 1000)),
  },
  { additionalProperties: false },
);

export const TaskState = Type.Union(
  ['pending', 'running', 'blocked', 'completed', 'failed', 'cancelled'].map((s) => Type.Literal(s)),
);

export const TaskRow = Type.Object({
  id: Uuid,
  project_id: Nullable(Uuid),
  parent_task_id: Nullable(Uuid),
  run_id: Nullable(Uuid),
  step_id: Nullable(Type.String()),
  state: TaskState,
  input: Type.String(),
  output_summary: Nullable(Type.String()),
  error: Nullable(Type.String()),
  agent: Nullable(Type.String()),
  model: Nullable(Type.String()),
  execution_path: Nullable(Type.String()),
  cost_tokens: Type.Integer(),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  output_chunks: Type.Integer(),
  started_at: Nullable(Timestamp),
  ended_at: Nullable(Timestamp),
  created_at: Timestamp,
  session_id: Nullable(Uuid),
  chat_id: Nullable(Uuid),
  arena_id: Nullable(Uuid),
  mode_id: Nullable(Type.String()),
  thinking_option_id: Nullable(Type.String()),
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  lease_owner: Nullable(Type.String()),
  lease_expires_at: Nullable(Timestamp),
  priority: Type.Integer(),
  workdir: Nullable(Type.String()),
  version: Type.Integer(),
  updated_at: Timestamp,
});

export const InboxItem = Type.Object({
  id: Uuid,
  kind: Type.Union(
    ['permission', 'question', 'failed_task', 'pending_change'].map((s) => Type.Literal(s)),
  ),
  task_id: Uuid,
  change_id: Nullable(Uuid),
  request_id: Nullable(Type.String()),
  prompt: Type.String(),
  options: Type.Array(Type.String()),
  actions: Type.Array(Type.String(), { description: 'what POST /api/inbox/:id/resolve accepts' }),
  details: Type.Object({}, { additionalProperties: true }),
  created_at: Timestamp,
  version: Type.Integer(),
});

export const ChangeRow = Type.Object({
  id: Uuid,
  session_id: Nullable(Uuid),
  task_id: Uuid,
  file_path: Type.String(),
  operation: Type.String(),
  diff: Type.String(),
  status: Type.String(),
  agent: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  version: Type.Integer(),
});

export const SessionRow = Type.Object({
  id: Uuid,
  chat_id: Uuid,
  agent: Type.String(),
  backend: Type.String(),
  agent_session_id: Nullable(Type.String()),
  status: Type.String(),
  config_hash: Type.String(),
  turns: Type.Integer(),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  cost: Type.Number(),
  crash_reason: Nullable(Type.String()),
  last_active_at: Timestamp,
  created_at: Timestamp,
  version: Type.Integer(),
});

export const EventFrame = Type.Object({
  cursor: Cursor,
  position: Type.Integer(),
  stream_type: Type.String(),
  stream_id: Uuid,
  version: Type.Integer(),
  type: Type.String(),
  data: Type.Object({}, { additionalProperties: true }),
  meta: Type.Object({}, { additionalProperties: true }),
  created_at: Timestamp,
});

/** What the runtime answers a state change with: the stream's new state and version. */
export const Transition = Type.Object({
  id: Uuid,
  state: Type.Unknown({ description: 'the state the actor is in now' }),
  version: Type.Integer(),
  event: Type.String({ description: 'the event appended' }),
  position: Type.Integer(),
});
