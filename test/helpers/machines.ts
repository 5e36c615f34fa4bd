import type { AnyMachineSnapshot } from 'xstate';
import type { ActorKind } from '../../src/machines/index.ts';
import { initialSnapshot, step } from '../../src/runtime/replay.ts';

export type Ev = { type: string } & Record<string, unknown>;

/** Folds events, failing loudly on the first one the machine rejects. */
export function drive(kind: ActorKind, events: Ev[]): AnyMachineSnapshot {
  let snapshot = initialSnapshot(kind);
  for (const { type, ...data } of events) {
    const next = step(kind, snapshot, { type, data: data as never });
    if (!next.accepted) throw new Error(`rejected ${type} in ${JSON.stringify(snapshot.value)}`);
    snapshot = next.snapshot;
  }
  return snapshot;
}

export function tryStep(kind: ActorKind, snapshot: AnyMachineSnapshot, event: Ev) {
  const { type, ...data } = event;
  return step(kind, snapshot, { type, data: data as never });
}
