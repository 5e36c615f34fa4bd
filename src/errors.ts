/**
 * The one error hierarchy of boocoder. Each class carries a stable machine-readable
 * `code` and the HTTP status the API maps it to (in one place: src/http/error-handler.ts).
 * Anything that is not a BoocoderError is our own fault and becomes a 500.
 */
export abstract class BoocoderError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options?.details;
  }
}

/** Bad input: nothing was written. */
export class ValidationError extends BoocoderError {
  readonly code = 'validation_failed';
  readonly status = 400;
}

export class NotFoundError extends BoocoderError {
  readonly code = 'not_found';
  readonly status = 404;
}

/** The command is well-formed but the actor's current state does not accept it. */
export class IllegalStateError extends BoocoderError {
  readonly code = 'illegal_state';
  readonly status = 409;
}

/** Optimistic concurrency clash on append: someone else wrote the stream first. */
export class ConcurrencyError extends BoocoderError {
  readonly code = 'concurrency_conflict';
  readonly status = 409;
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(
      `stream ${streamId}: expected version ${expectedVersion}, but it is at ${actualVersion}`,
      {
        details: {
          stream_id: streamId,
          expected_version: expectedVersion,
          actual_version: actualVersion,
        },
      },
    );
  }
}

/** The environment or config file is invalid; raised at start-up, before anything runs. */
export class ConfigError extends BoocoderError {
  readonly code = 'invalid_config';
  readonly status = 500;
}

/** The database schema cannot be brought to (or used at) this version of boocoder. */
export class MigrationError extends BoocoderError {
  readonly code = 'migration_failed';
  readonly status = 500;
}
