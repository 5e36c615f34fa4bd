/**
 * Stored events as the runtime would write them (with meta.state_after from the real
 * machine), without a database: for testing projections' evolve in isolation.
 */
import { ACTOR_KINDS, type ActorKindName } from '../../src/machines/index.ts';
import { initialSnapshot, step } from '../../src/runtime/replay.ts';
import type { JsonObject, StoredEvent } from '../../src/store/types.ts';
import type { Ev } from './machines.ts';

let position = 0;

export function storedEvents(
  streamType: ActorKindName,
  streamId: string,
  events: Ev[],
): StoredEvent[] {
  const kind = ACTOR_KINDS[streamType];
  let snapshot = initialSnapshot(kind);
  return events.map(({ type, ...data }, i) => {
    const next = step(kind, snapshot, { type, data: data as JsonObject });
    if (!next.accepted) throw new Error(`${type} rejected in ${JSON.stringify(snapshot.value)}`);
    snapshot = next.snapshot;
    position++;
    return {
      position,
      txId: position,
      streamType,
      streamId,
      version: i + 1,
      type,
      data: data as JsonObject,
      meta: { state_after: kind.stateAfter(snapshot as never) as JsonObject },
      createdAt: new Date(0),
    };
  });
}
