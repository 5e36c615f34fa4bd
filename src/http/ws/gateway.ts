/**
 * The WebSocket gateway at /ws: clients subscribe to channels and receive every matching
 * event, in the log's gap-safe order, each frame with the cursor that resumes right after it.
 *
 * Each connection reads the log from its own cursor with the gap-safe reader (ordered by
 * (tx_id, position), only transactions that can no longer commit below it), so a client that
 * reconnects with the last cursor it saw gets exactly what it missed, however busy the
 * writers. NOTIFY `events` wakes the readers; a slow poll covers lost notifications.
 *
 *   client → {"type":"subscribe","channels":["task:<id>","inbox"],"after":"<cursor>"}
 *   client → {"type":"unsubscribe","channels":["inbox"]}
 *   server → {"type":"subscribed","channels":[…],"cursor":"<cursor>"}
 *   server → {"type":"event","channels":[…],"cursor":"<cursor>","event":{…}}
 *   server → {"type":"error","code":"…","message":"…"}
 *
 * A client that does not read is closed (4008 "slow consumer") once the bytes waiting for it
 * pass a limit, instead of the server buffering without bound. Pings every heartbeat; a
 * client that missed the previous pong is dropped.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { listen, type Listener } from '../../store/listener.ts';
import { SAFE_HORIZON, type ReadAllResult } from '../../store/events.ts';
import type { Checkpoint, StoredEvent } from '../../store/types.ts';
import type { AppDeps } from '../app.ts';
import { CURSOR_PATTERN, decodeCursor, encodeCursor, eventJson } from '../cursor.ts';
import { createOwnerLookup, isChannel, matchingChannels } from './channels.ts';

export interface GatewayOptions {
  /** Fallback poll for new events, in case a NOTIFY was lost. */
  pollMs: number;
  heartbeatMs: number;
  /** Bytes queued for one client past which it is closed as a slow consumer. */
  maxBufferedBytes: number;
  /** Events read from the log per query. */
  batchSize: number;
  /** How long a closing slow consumer gets to read its close frame before it is cut. */
  closeGraceMs: number;
  authorized: (header: unknown) => boolean;
}

const DEFAULTS: Omit<GatewayOptions, 'authorized'> = {
  pollMs: 2000,
  heartbeatMs: 30_000,
  maxBufferedBytes: 8 * 1024 * 1024,
  batchSize: 500,
  closeGraceMs: 10_000,
};

export const SLOW_CONSUMER = 4008;

/** What the gateway shows of itself (for /health-like checks and tests). */
export interface GatewayStats {
  /** Open, subscribed-or-not client connections. */
  connections(): number;
}

declare module 'fastify' {
  interface FastifyInstance {
    wsGateway: GatewayStats;
  }
}
const MAX_CHANNELS = 100;

interface Connection {
  socket: WebSocket;
  channels: Set<string>;
  /** Unset until the first subscribe. */
  cursor: Checkpoint | undefined;
  /** Bumped when a subscribe rewinds the cursor, so a read in flight does not overwrite it. */
  generation: number;
  pumping: boolean;
  again: boolean;
  alive: boolean;
  closed: boolean;
}

// The newest event no running transaction can still precede: live subscriptions start here.
const SAFE_HEAD = `
  select tx_id as "txId", position from events
  where tx_id < ${SAFE_HORIZON}
  order by tx_id desc, position desc limit 1`;

// Committed events past a cursor that the gap-safe reader does not show yet.
const HIDDEN_AFTER = `
  select 1 from events where (tx_id, position) > ($1::text::xid8, $2::bigint) limit 1`;
const HORIZON_RETRY_MS = 10;

function rejectUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export function attachGateway(
  app: FastifyInstance,
  deps: AppDeps,
  given: Partial<GatewayOptions> & Pick<GatewayOptions, 'authorized'>,
): void {
  const options: GatewayOptions = { ...DEFAULTS, ...given };
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const connections = new Set<Connection>();
  const owners = createOwnerLookup(deps.pool);
  // Connections that are caught up share a cursor, and one wake-up starts all their reads at
  // once: one query answers them all (the answer is a valid gap-safe read for each). Only
  // reads begun since the latest wake-up are shared: one begun before it may predate the
  // commit that woke us.
  const reads = new Map<string, Promise<ReadAllResult>>();
  let epoch = 0;
  function readFrom(cursor: Checkpoint): Promise<ReadAllResult> {
    const key = `${epoch}/${cursor.txId}:${cursor.position}`;
    let read = reads.get(key);
    if (!read) {
      read = deps.store.readAll({ after: cursor, limit: options.batchSize });
      reads.set(key, read);
      void read.finally(() => reads.delete(key)).catch(() => undefined);
    }
    return read;
  }
  // Each event is serialised once, however many clients it goes to.
  const serialised = new WeakMap<StoredEvent, string>();
  function frame(event: StoredEvent, channels: string[]): string {
    let json = serialised.get(event);
    if (json === undefined) {
      json = JSON.stringify(eventJson(event));
      serialised.set(event, json);
    }
    return `{"type":"event","channels":${JSON.stringify(channels)},"cursor":"${encodeCursor(event)}","event":${json}}`;
  }
  let listener: Promise<Listener | undefined> | undefined;
  let timers: NodeJS.Timeout[] = [];
  let stopped = false;

  const wakeAll = () => {
    epoch++;
    for (const conn of connections) void pump(conn);
  };

  // A commit is readable once no older transaction anywhere on the cluster is still open.
  // When a reader stops short of events that are committed but not yet past that horizon,
  // it looks again shortly instead of waiting for the next NOTIFY or poll.
  let retry: NodeJS.Timeout | undefined;
  const hidden = new Map<string, Promise<boolean>>();
  function hiddenAfter(cursor: Checkpoint): Promise<boolean> {
    const key = `${epoch}/${cursor.txId}:${cursor.position}`;
    let check = hidden.get(key);
    if (!check) {
      check = deps.pool
        .query(HIDDEN_AFTER, [cursor.txId, cursor.position])
        .then((r) => (r.rowCount ?? 0) > 0);
      hidden.set(key, check);
      void check.finally(() => hidden.delete(key)).catch(() => undefined);
    }
    return check;
  }
  function retrySoon(): void {
    if (retry || stopped) return;
    retry = setTimeout(() => {
      retry = undefined;
      wakeAll();
    }, HORIZON_RETRY_MS);
    retry.unref();
  }

  /** The wake-ups start with the first client, so an app nobody subscribes to holds no connection. */
  function start(): void {
    if (listener || stopped) return;
    listener = deps.connectionString
      ? listen({
          connectionString: deps.connectionString,
          channels: ['events'],
          onNotify: wakeAll,
          onReconnect: wakeAll,
          onError: (err) => app.log.warn({ err }, 'ws gateway: listener error'),
        }).catch((err: unknown) => {
          app.log.warn({ err }, 'ws gateway: no NOTIFY wake-ups, polling only');
          return undefined;
        })
      : Promise.resolve(undefined);
    timers = [
      setInterval(wakeAll, options.pollMs),
      setInterval(() => {
        for (const conn of connections) {
          if (!conn.alive) {
            drop(conn);
            conn.socket.terminate();
            continue;
          }
          conn.alive = false;
          conn.socket.ping();
        }
      }, options.heartbeatMs),
    ];
    for (const t of timers) t.unref();
  }

  function drop(conn: Connection): void {
    conn.closed = true;
    connections.delete(conn);
  }

  function send(conn: Connection, frame: unknown): void {
    if (!conn.closed) conn.socket.send(JSON.stringify(frame));
  }

  function tooSlow(conn: Connection): boolean {
    if (conn.socket.bufferedAmount <= options.maxBufferedBytes) return false;
    app.log.warn({ buffered: conn.socket.bufferedAmount }, 'ws gateway: closing a slow consumer');
    drop(conn);
    conn.socket.close(
      SLOW_CONSUMER,
      `slow consumer: more than ${options.maxBufferedBytes} bytes unread; reconnect with your last cursor`,
    );
    setTimeout(() => conn.socket.terminate(), options.closeGraceMs).unref();
    return true;
  }

  /** Reads the log from the connection's cursor and sends what matches, until caught up. */
  async function pump(conn: Connection): Promise<void> {
    if (conn.pumping) {
      conn.again = true;
      return;
    }
    conn.pumping = true;
    try {
      do {
        conn.again = false;
        for (;;) {
          if (conn.closed || !conn.cursor || conn.channels.size === 0 || tooSlow(conn)) return;
          const generation = conn.generation;
          const { events, checkpoint } = await readFrom(conn.cursor);
          if (conn.closed || generation !== conn.generation) {
            conn.again = true;
            break;
          }
          const needsOwners = [...conn.channels].some((c) => c.includes(':'));
          const byStream = needsOwners ? await owners(events) : undefined;
          for (const event of events) {
            const channels = matchingChannels(conn.channels, event, byStream?.get(event.streamId));
            if (channels.length === 0) continue;
            if (!conn.closed) conn.socket.send(frame(event, channels));
          }
          conn.cursor = checkpoint;
          if (events.length < options.batchSize) {
            if (await hiddenAfter(checkpoint)) retrySoon();
            break;
          }
        }
      } while (conn.again);
    } catch (err) {
      app.log.error({ err }, 'ws gateway: reading the log failed; the next wake-up retries');
    } finally {
      conn.pumping = false;
    }
  }

  async function onMessage(conn: Connection, raw: string): Promise<void> {
    let message: { type?: unknown; channels?: unknown; after?: unknown };
    try {
      message = JSON.parse(raw) as typeof message;
      if (typeof message !== 'object' || message === null) throw new Error('not an object');
    } catch {
      return send(conn, { type: 'error', code: 'bad_frame', message: 'frames are JSON objects' });
    }
    const channels = message.channels;
    if (
      (message.type !== 'subscribe' && message.type !== 'unsubscribe') ||
      !Array.isArray(channels) ||
      !channels.every(isChannel)
    ) {
      return send(conn, {
        type: 'error',
        code: 'bad_frame',
        message:
          'expected {"type":"subscribe"|"unsubscribe","channels":[…],"after"?} with channels task:<uuid>, run:<uuid>, project:<uuid>, inbox or events',
      });
    }
    if (message.type === 'unsubscribe') {
      for (const c of channels) conn.channels.delete(c);
      return send(conn, {
        type: 'subscribed',
        channels: [...conn.channels],
        cursor: cursorOf(conn),
      });
    }
    if (
      message.after !== undefined &&
      (typeof message.after !== 'string' || !CURSOR_PATTERN.test(message.after))
    ) {
      return send(conn, {
        type: 'error',
        code: 'bad_cursor',
        message: '`after` is a cursor "<tx_id>:<position>" (or "0") from an earlier frame',
      });
    }
    if (new Set([...conn.channels, ...channels]).size > MAX_CHANNELS) {
      return send(conn, {
        type: 'error',
        code: 'too_many_channels',
        message: `at most ${MAX_CHANNELS} channels`,
      });
    }
    for (const c of channels) conn.channels.add(c);
    if (typeof message.after === 'string') {
      conn.cursor = decodeCursor(message.after);
      conn.generation++;
    } else if (!conn.cursor) {
      const { rows } = await deps.pool.query<Checkpoint>(SAFE_HEAD);
      conn.cursor = rows[0] ?? { txId: 0, position: 0 };
    }
    send(conn, { type: 'subscribed', channels: [...conn.channels], cursor: cursorOf(conn) });
    void pump(conn);
  }

  /** ws hands text frames over as a Buffer (or Buffer[] / ArrayBuffer when fragmented). */
  function rawText(data: Buffer | ArrayBuffer | Buffer[]): string {
    if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
    return Buffer.from(data as ArrayBuffer).toString('utf8');
  }

  const cursorOf = (conn: Connection) => (conn.cursor ? encodeCursor(conn.cursor) : null);

  wss.on('connection', (socket: WebSocket) => {
    const conn: Connection = {
      socket,
      channels: new Set(),
      cursor: undefined,
      generation: 0,
      pumping: false,
      again: false,
      alive: true,
      closed: false,
    };
    connections.add(conn);
    start();
    socket.on('pong', () => (conn.alive = true));
    socket.on('close', () => drop(conn));
    socket.on('error', () => drop(conn));
    socket.on('message', (data, isBinary) => {
      if (isBinary)
        return send(conn, { type: 'error', code: 'bad_frame', message: 'text frames only' });
      onMessage(conn, rawText(data)).catch((err: unknown) => {
        app.log.error({ err }, 'ws gateway: subscribe failed');
        send(conn, { type: 'error', code: 'internal', message: 'subscribe failed; try again' });
      });
    });
  });

  app.decorate('wsGateway', { connections: () => connections.size } satisfies GatewayStats);

  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/ws') return rejectUpgrade(socket, '404 Not Found');
    if (stopped) return rejectUpgrade(socket, '503 Service Unavailable');
    if (!options.authorized(request.headers.authorization)) {
      return rejectUpgrade(socket, '401 Unauthorized');
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  // Before the HTTP server closes (it waits for open sockets): say goodbye and stop reading.
  app.addHook('preClose', async () => {
    stopped = true;
    for (const t of timers) clearInterval(t);
    clearTimeout(retry);
    for (const conn of [...connections]) {
      drop(conn);
      conn.socket.close(1001, 'server shutting down');
    }
    for (const socket of wss.clients) socket.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await (await listener)?.close();
  });
}
