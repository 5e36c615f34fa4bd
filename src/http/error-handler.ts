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
