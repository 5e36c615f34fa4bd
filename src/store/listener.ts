/**
 * Wake-up hints from PostgreSQL NOTIFY, over pg-listen.
 *
 * A notification is only a hint: the table stays the truth. A connection can drop and
 * notifications sent meanwhile are lost, so after every reconnect the subscriber is told
 * to re-read from its checkpoint (`onReconnect`), and it keeps a slow fallback poll too.
 */
import pgListen from 'pg-listen';

// pg-listen is CommonJS with an `exports.default`; from ESM that is `.default`.
const createSubscriber = pgListen.default;

export type Channel = 'tasks_new' | 'events';

export interface ListenerOptions {
  connectionString: string;
  channels: readonly Channel[];
  onNotify: (channel: Channel, payload: string) => void;
  /** The connection came back: anything may have been missed, re-read from the checkpoint. */
  onReconnect: () => void;
  onError?: (error: Error) => void;
}

/** Splits an `events` payload into the stream id and the version it reached. */
export function parseEventsPayload(payload: string): { streamId: string; version: number } {
  const [streamId = '', version = '0'] = payload.split(':');
  return { streamId, version: Number(version) };
}

export interface Listener {
  close(): Promise<void>;
}

const MAX_RETRY_INTERVAL_MS = 5000;

export async function listen(options: ListenerOptions): Promise<Listener> {
  const subscriber = createSubscriber(
    { connectionString: options.connectionString },
    {
      // Payloads are plain strings (stream or task ids), not JSON.
      parse: (payload: string) => payload,
      // Keep trying for as long as the process lives, backing off to 5 s between tries.
      retryLimit: Infinity,
      retryTimeout: 0,
      retryInterval: (attempt: number) => Math.min(100 * 2 ** attempt, MAX_RETRY_INTERVAL_MS),
      paranoidChecking: 10_000,
    },
  );
  let connected = false;
  subscriber.events.on('connected', () => {
    if (connected) options.onReconnect();
    connected = true;
  });
  subscriber.events.on('notification', ({ channel, payload }) => {
    options.onNotify(channel as Channel, String(payload ?? ''));
  });
  subscriber.events.on('error', (error) => options.onError?.(error));
  await subscriber.connect();
  for (const channel of options.channels) await subscriber.listenTo(channel);
  return {
    async close() {
      await subscriber.close();
    },
  };
}
