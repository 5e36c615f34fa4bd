/**
 * NOTIFY hints, sent after commit and in batches. A NOTIFY inside the writing transaction
 * takes a cluster-wide lock at commit that serialises every notifying commit — with one per
 * append, it cost the log about 40 % of its write rate. Here the hints of many commits go out
 * together in one short transaction of their own, while the next batch gathers.
 *
 * They stay what DESIGN.md says they are: hints. One lost to a crash between a commit and its
 * batch costs a listener no more than its fallback poll.
 */
import type pg from 'pg';

export type NotifyChannel = 'events' | 'tasks_new';

export interface Notifier {
  /** Queues payloads on a channel; call after the commit they announce. */
  notify(channel: NotifyChannel, payloads: readonly string[]): void;
  /** Resolves once everything queued so far has been sent (or has failed). */
  flush(): Promise<void>;
}

const SEND = `select pg_notify(c, p) from unnest($1::text[], $2::text[]) as n(c, p)`;

export function createNotifier(pool: pg.Pool, onError?: (error: unknown) => void): Notifier {
  let channels: string[] = [];
  let payloads: string[] = [];
  let sending: Promise<void> | null = null;

  function pump(): void {
    if (sending || payloads.length === 0) return;
    const batch = [channels, payloads];
    channels = [];
    payloads = [];
    sending = pool
      .query(SEND, batch)
      .then(
        () => undefined,
        (error: unknown) => onError?.(error),
      )
      .finally(() => {
        sending = null;
        pump();
      });
  }

  return {
    notify(channel, given) {
      for (const payload of given) {
        channels.push(channel);
        payloads.push(payload);
      }
      pump();
    },
    async flush() {
      while (sending || payloads.length > 0) {
        pump();
        await sending;
      }
    },
  };
}

/** The `events` payload: the stream and the version it has reached. */
export const eventsPayload = (streamId: string, version: number) => `${streamId}:${version}`;
