/**
 * A real `boocoder start` process, real HTTP and a real WS client: a new user's first task,
 * naming no agent, runs on the scripted agent and completes, and the WS channel shows it.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { freePort } from '../helpers/net.ts';
import { boocoder } from '../helpers/process.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 2 });
});
afterAll(() => db.drop());

const TOKEN = 'e2e-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('boocoder start, over HTTP and WS', () => {
  it('runs a first task on the default agent to completion, streamed over WS', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = boocoder(['start'], {
      DATABASE_URL: db.url,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      BOOCODER_TOKEN: TOKEN,
      BOOCODER_DEFAULT_AGENT: '',
    });
    try {
      let up = false;
      for (let i = 0; i < 300 && !up; i++) {
        up = await fetch(`${base}/health`, { headers: auth })
          .then((r) => r.ok)
          .catch(() => new Promise<false>((r) => setTimeout(() => r(false), 50)));
      }
      expect(up, server.output()).toBe(true);
      expect((await fetch(`${base}/api/tasks`)).status).toBe(401);

      // Subscribe to everything from now, then create the task: its whole life arrives.
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: auth });
      const frames: { type: string; event?: { type: string; stream_id: string } }[] = [];
      ws.on('message', (d: Buffer) =>
        frames.push(JSON.parse(d.toString()) as (typeof frames)[number]),
      );
      await once(ws, 'open');
      ws.send(JSON.stringify({ type: 'subscribe', channels: ['events'] }));
      while (!frames.some((f) => f.type === 'subscribed'))
        await new Promise((r) => setTimeout(r, 20));

      const created = await fetch(`${base}/api/tasks`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ input: 'say hello' }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };

      let state = '';
      for (let i = 0; i < 600 && state !== 'completed'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const res = await fetch(`${base}/api/tasks/${id}`, { headers: auth });
        state = ((await res.json()) as { task: { state: string } }).task.state;
        if (state === 'failed') break;
      }
      expect(state, server.output()).toBe('completed');
      const task = (await (await fetch(`${base}/api/tasks/${id}`, { headers: auth })).json()) as {
        task: { agent: string; execution_path: string };
      };
      expect(task.task).toMatchObject({ agent: 'scripted', execution_path: 'scripted' });

      while (!frames.some((f) => f.event?.stream_id === id && f.event.type === 'task.completed')) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const types = frames.filter((f) => f.event?.stream_id === id).map((f) => f.event!.type);
      expect(types[0]).toBe('task.created');
      expect(types).toContain('task.claimed');
      expect(types.at(-1)).toBe('task.completed');
      ws.close();

      // An ACP agent (a separate process) asks permission; a person allows it over HTTP.
      const asked = await fetch(`${base}/api/tasks`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ input: '@ask edit README\n@say edited', agent: 'scripted-acp' }),
      });
      expect(asked.status).toBe(201);
      const acpTask = ((await asked.json()) as { id: string }).id;
      let item: { id: string; actions: string[] } | undefined;
      for (let i = 0; i < 600 && !item; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const inbox = (await (await fetch(`${base}/api/inbox`, { headers: auth })).json()) as {
          items: { id: string; task_id: string; actions: string[] }[];
        };
        item = inbox.items.find((x) => x.task_id === acpTask);
      }
      expect(item, server.output()).toBeDefined();
      expect(item!.actions).toContain('allow');
      const resolved = await fetch(`${base}/api/inbox/${item!.id}/resolve`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'allow' }),
      });
      expect(resolved.status).toBe(200);
      let acpState = '';
      for (let i = 0; i < 600 && !['completed', 'failed'].includes(acpState); i++) {
        await new Promise((r) => setTimeout(r, 50));
        const res = await fetch(`${base}/api/tasks/${acpTask}`, { headers: auth });
        acpState = ((await res.json()) as { task: { state: string } }).task.state;
      }
      expect(acpState, server.output()).toBe('completed');
      const output = (await (
        await fetch(`${base}/api/tasks/${acpTask}/output`, { headers: auth })
      ).json()) as { chunks: { chunk: string }[] };
      expect(output.chunks.map((c) => c.chunk).join('')).toBe(
        'permission granted: edit README\nedited\n',
      );

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('refuses to start on a non-loopback address without a token', async () => {
    const server = boocoder(['start'], {
      DATABASE_URL: db.url,
      HOST: '0.0.0.0',
      PORT: String(await freePort()),
      BOOCODER_TOKEN: '',
    });
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(/BOOCODER_TOKEN/);
  });
});
