/**
 * The one place errors become HTTP responses: `{ error: { code, message, details? } }`.
 * Our typed errors keep their status; fastify's own 4xx (schema validation, bad JSON,
 * body too large, unknown route) keep theirs; anything else is our fault and a 500 whose
 * message does not leak internals.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BoocoderError } from '../errors.ts';

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

function fastifyCode(error: FastifyError): string {
  if (error.validation) return 'validation_failed';
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'body_too_large';
  if (error.code?.startsWith('FST_ERR_CTP')) return 'bad_request_body';
  return 'bad_request';
}

/**
 * PostgreSQL refusals that are about the request, not about us. A unique index is the last
 * word on a race two requests can run (two sessions opened for one chat and agent at once):
 * the loser is told it conflicts, not that the server broke. Data exceptions (class 22: a
 * value the column cannot take) are bad input the schemas did not catch.
 */
/** Unique indexes that settle races between requests; any other clash is our bug (500). */
const RACE_CONSTRAINTS = new Set(['agent_sessions_open_per_chat_agent']);

function fromPostgres(
  code: string,
  error: { constraint?: string },
): { status: number; body: ErrorBody } | undefined {
  if (code === '23505' && RACE_CONSTRAINTS.has(error.constraint ?? '')) {
    return {
      status: 409,
      body: {
        error: {
          code: 'conflict',
          message: 'this chat already has an open session with this agent',
          ...(error.constraint ? { details: { constraint: error.constraint } } : {}),
        },
      },
    };
  }
  if (code.startsWith('22')) {
    return {
      status: 400,
      body: {
        error: {
          code: 'invalid_value',
          message: 'a value in the request is out of range or malformed',
        },
      },
    };
  }
  return undefined;
}

export function toErrorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof BoocoderError && error.status < 500) {
    return {
      status: error.status,
      body: {
        error: {
          code: error.code,
          message: error.message,
          ...(error.details ? { details: error.details } : {}),
        },
      },
    };
  }
  const fe = error as FastifyError;
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return {
      status: fe.statusCode,
      body: {
        error: {
          code: fastifyCode(fe),
          message: fe.message,
          ...(fe.validation ? { details: { issues: fe.validation } } : {}),
        },
      },
    };
  }
  const pgCode = (error as { code?: unknown } | null)?.code;
  if (typeof pgCode === 'string' && /^[0-9A-Z]{5}$/.test(pgCode)) {
    const mapped = fromPostgres(pgCode, error as { constraint?: string });
    if (mapped) return mapped;
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal server error' } } };
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toErrorResponse(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: { code: 'not_found', message: `no route ${request.method} ${request.url}` },
    } satisfies ErrorBody),
  );
}
