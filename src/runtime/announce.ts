/**
 * What a commit announces (after it, as NOTIFY hints): each stream's new head on `events`,
 * and on `tasks_new` each task that the commit left pending — work for a dispatcher.
 */
import { eventsPayload, type Notifier } from '../store/notifier.ts';
import type { StoredEvent } from '../store/types.ts';

export function announce(notifier: Notifier, events: readonly StoredEvent[]): void {
  const heads = new Map<string, number>();
  const pending: string[] = [];
  for (const event of events) {
    heads.set(event.streamId, Math.max(heads.get(event.streamId) ?? 0, event.version));
    const after = event.meta.state_after as { value?: unknown } | undefined;
    if (event.streamType === 'task' && after?.value === 'pending') pending.push(event.streamId);
  }
  notifier.notify(
    'events',
    [...heads].map(([streamId, version]) => eventsPayload(streamId, version)),
  );
  if (pending.length > 0) notifier.notify('tasks_new', pending);
}
