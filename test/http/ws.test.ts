/** The WS gateway with real `ws` clients over a real socket. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { AppOptions } from '../../src/http/app.ts';
import type { Runtime } from '../../src/runtime/actor-host.ts';
import { withTransaction } from '../../src/store/db.ts';
import { createEventStore } from '../../src/store/events.ts';
import { testApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 20 });
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await db.drop();
});

async function serve(
  options: AppOptions = {},
): Promise<{ url: string; app: FastifyInstance; runtime: Runtime }> {
  const { app, runtime } = await testApp(db.pool, {
    ...options,
    deps: { connectionString: db.url },
    ws: { pollMs: 250, ...options.ws },
  });
  apps.push(app);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: address.replace('http', 'ws') + '/ws', app, runtime };
}

interface EventFrame {
  type: 'event';
  channels: string[];
  cursor: string;
  event: { position: number; stream_id: string; version: number; type: string; cursor: string };
}
type Frame =
  | EventFrame
  | { type: 'subscribed'; cursor: string; channels: string[] }
  | { type: 'error'; code: string };

/** A ws client whose frames can be awaited in order. */
class Client {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.frames.push(JSON.parse(data.toString('utf8')) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const w of this.waiters.splice(0)) w();
      }),
    );
  }
  static async open(url: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
    const ws = new WebSocket(url, options);
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }
  send(frame: unknown) {
    this.ws.send(JSON.stringify(frame));
  }
  events(): EventFrame[] {
    return this.frames.filter((f): f is EventFrame => f.type === 'event');
  }
  /** Waits until `predicate` holds over the frames so far (or the socket closes). */
  async until(predicate: (c: Client) => boolean): Promise<void> {
    while (!predicate(this)) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('closed while waiting');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
  async subscribe(channels: string[], after?: string): Promise<string> {
    const seen = this.frames.length;
    this.send({ type: 'subscribe', channels, ...(after ? { after } : {}) });
    await this.until((c) =>
      c.frames.slice(seen).some((f) => f.type === 'subscribed' || f.type === 'error'),
    );
    const reply = this.frames
      .slice(seen)
      .find((f) => f.type === 'subscribed' || f.type === 'error')!;
    if (reply.type !== 'subscribed') throw new Error(`subscribe failed: ${JSON.stringify(reply)}`);
    return reply.cursor;
  }
}

const now = () => new Date().toISOString();

describe('WS /ws', () => {
  it('delivers a task’s events in order, with cursors, and only to its channels', async () => {
    const { url, runtime } = await serve();
    const project = randomUUID();
    const task = randomUUID();
    const other = randomUUID();
    const byTask = await Client.open(url);
    const byProject = await Client.open(url);
    const inbox = await Client.open(url);
    const byRun = await Client.open(url);
    const run = randomUUID();
    await byRun.subscribe([`run:${run}`]);
    await byTask.subscribe([`task:${task}`]);
    await byProject.subscribe([`project:${project}`]);
    await inbox.subscribe(['inbox']);

    await runtime.send('task', other, { type: 'task.created', input: 'other', at: now() });
    await runtime.send('task', task, {
      type: 'task.created',
      input: 'x',
      project_id: project,
      run_id: run,
      step_id: 's1',
      at: now(),
    });
    const lease = new Date(Date.now() + 60_000).toISOString();
    await runtime.send('task', task, {
      type: 'task.claimed',
      worker_id: 'w',
      lease_expires_at: lease,
      at: now(),
    });
    await runtime.send('task', task, {
      type: 'task.blocked',
      request_id: 'r',
      kind: 'question',
      prompt: '?',
      at: now(),
    });

    await byTask.until((c) => c.events().length === 3);
    expect(byTask.events().map((f) => [f.event.version, f.event.type, f.channels])).toEqual([
      [1, 'task.created', [`task:${task}`]],
      [2, 'task.claimed', [`task:${task}`]],
      [3, 'task.blocked', [`task:${task}`]],
    ]);
    for (const f of byTask.events()) expect(f.cursor).toBe(f.event.cursor);
    await byProject.until((c) => c.events().length === 3);
    expect(byProject.events().every((f) => f.event.stream_id === task)).toBe(true);
    await byRun.until((c) => c.events().length === 3);
    expect(byRun.events().map((f) => f.channels)).toEqual(Array(3).fill([`run:${run}`]));
    await inbox.until((c) => c.events().length === 1);
    expect(inbox.events()[0]!.event.type).toBe('task.blocked');

    // A reconnect from the first frame's cursor gets exactly the rest.
    const again = await Client.open(url);
    await again.subscribe([`task:${task}`], byTask.events()[0]!.cursor);
    await again.until((c) => c.events().length === 2);
    expect(again.events().map((f) => f.event.version)).toEqual([2, 3]);
    for (const c of [byTask, byProject, byRun, inbox, again]) c.ws.close();
  });

  it('after a disconnect while 4 writers append 5,000 events, resuming with `after` gives exactly the log', async () => {
    const { url } = await serve();
    const store = createEventStore(db.pool);
    const first = await Client.open(url);
    const start = await first.subscribe(['events']);

    const WRITERS = 4;
    const PER_WRITER = 1250;
    const CHUNK = 5;
    // Two gates make the interleaving certain, whatever the machine's speed: the writers hold
    // at 2,000 events until the first client is gone (it disconnects mid-stream, having read
    // some), and at 3,500 until the second has resumed (events land while nobody listens, and
    // the resume happens with writers still busy). Between and after the gates they run free.
    let appended = 0;
    const gate = () => {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      return { opened, open };
    };
    const disconnected = gate();
    const resumed = gate();
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      const stream = { type: 'task' as const, id: randomUUID() };
      for (let version = 0; version < PER_WRITER; version += CHUNK) {
        if (appended >= 2000) await disconnected.opened;
        if (appended >= 3500) await resumed.opened;
        const events = Array.from({ length: CHUNK }, (_, i) => ({
          type: 'task.noted',
          data: { writer: w, n: version + i },
        }));
        // Some transactions stay open a moment, so commits land out of position order.
        await withTransaction(db.pool, async (tx) => {
          await store.append(stream, version, events, tx);
          if ((version / CHUNK + w) % 3 === 0)
            await new Promise((r) => setTimeout(r, Math.random() * 4));
        });
        appended += CHUNK;
      }
    });
    const done = Promise.all(writers);

    await first.until((c) => c.events().length >= 500);
    first.ws.terminate();
    await first.closed;
    disconnected.open();
    const received = first.events();
    const resumeAt = received.at(-1)!.cursor;

    await vi.waitFor(() => expect(appended).toBeGreaterThanOrEqual(3500), { timeout: 30_000 });
    const second = await Client.open(url);
    await second.subscribe(['events'], resumeAt);
    resumed.open();
    await done;
    await second.until((c) => received.length + c.events().length >= WRITERS * PER_WRITER);
    // Anything more than the log would show up here too.
    await new Promise((r) => setTimeout(r, 300));
    const union = [...received, ...second.events()].map((f) => f.event.position);

    const [txId, position] = start.split(':').map(Number);
    const { rows } = await db.pool.query<{ position: number }>(
      `select position from events where (tx_id, position) > ($1::text::xid8, $2::bigint) order by tx_id, position`,
      [txId ?? 0, position ?? 0],
    );
    expect(rows).toHaveLength(WRITERS * PER_WRITER);
    expect(union).toEqual(rows.map((r) => r.position));
    second.ws.close();
  });

  it('closes a client that does not read, with a reason, instead of buffering without bound', async () => {
    const { url, app, runtime } = await serve({
      ws: { maxBufferedBytes: 256 * 1024, closeGraceMs: 60_000 },
    });
    const client = await Client.open(url);
    await client.subscribe(['events']);
    const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const task = randomUUID();
    await runtime.send('task', task, { type: 'task.created', input: 'x', at: now() });
    const lease = new Date(Date.now() + 600_000).toISOString();
    await runtime.send('task', task, {
      type: 'task.claimed',
      worker_id: 'w',
      lease_expires_at: lease,
      at: now(),
    });
    const chunk = 'x'.repeat(16 * 1024);
    // Far more than the kernel's socket buffers and the limit together.
    for (let i = 0; i < 1500 && app.wsGateway.connections() > 0; i++) {
      await runtime.send('task', task, { type: 'task.output_appended', chunk, at: now() });
    }
    await vi.waitFor(() => expect(app.wsGateway.connections()).toBe(0), { timeout: 30_000 });
    socket.resume();
    const closed = await client.closed;
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/slow consumer/);
  });

  it('drops a client that stops answering pings', async () => {
    const { url, app } = await serve({ ws: { heartbeatMs: 100 } });
    const client = await Client.open(url, { autoPong: false });
    await client.subscribe(['inbox']);
    await client.closed;
    expect(app.wsGateway.connections()).toBe(0);
  });

  it('answers bad frames with an error frame and keeps the connection', async () => {
    const { url } = await serve();
    const client = await Client.open(url);
    client.ws.send('not json');
    client.send({ type: 'subscribe', channels: ['task:1'] });
    client.send({ type: 'subscribe', channels: ['inbox'], after: '12' });
    client.send({ type: 'dance' });
    await client.until((c) => c.frames.length === 4);
    expect(client.frames.map((f) => (f.type === 'error' ? f.code : f.type))).toEqual([
      'bad_frame',
      'bad_frame',
      'bad_cursor',
      'bad_frame',
    ]);
    expect(await client.subscribe(['inbox'])).toMatch(/^(0|\d+:\d+)$/);
    client.ws.close();
  });

  it('requires the bearer token on the upgrade when one is set, and knows only /ws', async () => {
    const { url } = await serve({ token: 'tok' });
    const status = (target: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(target, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => undefined);
      });
    expect(await status(url)).toBe(401);
    expect(await status(url, { authorization: 'Bearer nope' })).toBe(401);
    expect(await status(url, { authorization: 'Bearer tok' })).toBe(101);
    expect(await status(url.replace('/ws', '/other'), { authorization: 'Bearer tok' })).toBe(404);
  });
});
