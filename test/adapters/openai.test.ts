import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgents } from '../../src/adapters/index.ts';
import type { Node } from '../../src/runtime/node.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { testNode } from '../helpers/node.ts';
import { serverLikeRuntime } from '../helpers/runtime.ts';

let db: TestDatabase;
let server: http.Server;
let node: Node;
const requests: { auth: string | undefined; body: Record<string, unknown> }[] = [];
const at = () => new Date().toISOString();

/** A model server that streams its answer word by word, then usage; "fail" gets a 500. */
function handle(req: http.IncomingMessage, res: http.ServerResponse) {
  let raw = '';
  req.on('data', (c: Buffer) => (raw += c.toString()));
  req.on('end', () => {
    const body = JSON.parse(raw) as { messages: { content: string }[] };
    requests.push({ auth: req.headers.authorization, body });
    const prompt = body.messages[0]!.content;
    if (prompt === 'fail') {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"error":"model overloaded"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const words = ['The', ' answer', ' is', '\n', '42.'];
    const send = (i: number) => {
      if (i < words.length) {
        res.write(
          `data: ${JSON.stringify({ choices: [{ delta: { content: words[i] }, finish_reason: null }] })}\n\n`,
        );
        setTimeout(() => send(i + 1), 5);
        return;
      }
      res.write(`data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: 'stop' }] })}\n\n`);
      res.write(
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 } })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    };
    send(0);
  });
}

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 10 });
  server = http.createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const openai = { baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-test', model: 'qwen-local' };
  node = await testNode(
    db,
    { BOOCODER_WORKER_ID: 'openai-test' },
    buildAgents([], { searchPath: '/usr/bin:/bin', timeoutMs: 10_000, openai }),
  );
});
afterAll(async () => {
  await node.stop(1000);
  server.close();
  await db.drop();
});

async function finished(id: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { rows } = await db.pool.query<Record<string, unknown>>(
      'select state, error, output_summary, execution_path, cost_tokens, input_tokens, output_tokens from tasks where id = $1',
      [id],
    );
    if (rows[0] && ['completed', 'failed'].includes(rows[0].state as string)) return rows[0];
    if (Date.now() > deadline) throw new Error('task did not finish');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('OpenAI-compatible agent', () => {
  it('streams the answer into output, records usage, and completes', async () => {
    const id = randomUUID();
    await serverLikeRuntime(db.pool).send('task', id, {
      type: 'task.created',
      input: 'what is it?',
      agent: 'openai',
      at: at(),
    });
    expect(await finished(id)).toMatchObject({
      state: 'completed',
      output_summary: '42.',
      execution_path: 'native',
      input_tokens: 11,
      output_tokens: 5,
      cost_tokens: 16,
    });
    const text = (await createEventStore(db.pool).readStream(id))
      .filter((e) => e.type === 'task.output_appended')
      .map((e) => e.data.chunk as string)
      .join('');
    expect(text).toBe('The answer is\n42.');
    expect(requests.at(-1)).toMatchObject({
      auth: 'Bearer sk-test',
      body: {
        model: 'qwen-local',
        stream: true,
        messages: [{ role: 'user', content: 'what is it?' }],
      },
    });
  });

  it('uses the task model when it names one, and fails the task on a server error', async () => {
    const id = randomUUID();
    await serverLikeRuntime(db.pool).send('task', id, {
      type: 'task.created',
      input: 'fail',
      agent: 'openai',
      model: 'big',
      at: at(),
    });
    expect(await finished(id)).toMatchObject({
      state: 'failed',
      error: 'openai: the model server answered 500: {"error":"model overloaded"}',
    });
    expect(requests.at(-1)?.body).toMatchObject({ model: 'big' });
  });
});
