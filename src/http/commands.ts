/**
 * How routes change state: through `runtime.send`, after checking the stream exists (an
 * unknown id is a 404, not the 409 a fresh actor would give for refusing the command).
 * The runtime's refusal (IllegalStateError, with the state and the accepted events) reaches
 * the error handler unchanged, and nothing is appended.
 */
import { NotFoundError } from '../errors.ts';
import type { Runtime, SendResult } from '../runtime/actor-host.ts';
import type { StreamType } from '../store/types.ts';

export async function requireStream(
  runtime: Runtime,
  streamType: StreamType,
  id: string,
): Promise<void> {
  const actor = await runtime.load(streamType, id).catch((error: unknown) => {
    // A stream of another kind is, for this route, a stream that does not exist.
    if ((error as { code?: string }).code === 'validation_failed') return undefined;
    throw error;
  });
  if (!actor || actor.version === 0) {
    throw new NotFoundError(`no ${streamType.replace('_', ' ')} ${id}`);
  }
}

export async function sendExisting(
  runtime: Runtime,
  streamType: StreamType,
  id: string,
  command: { type: string; reason?: string },
): Promise<SendResult> {
  await requireStream(runtime, streamType, id);
  return runtime.send(streamType, id, { ...command, at: new Date().toISOString() });
}

/** The answer of a state-changing route. */
export function transition(result: SendResult) {
  return {
    id: result.streamId,
    state: result.snapshot.value as unknown,
    version: result.version,
    event: result.event.type,
    position: result.event.position,
  };
}
