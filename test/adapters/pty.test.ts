import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/adapters/definitions.ts';
import { buildAgents } from '../../src/adapters/index.ts';
import type { Node } from '../../src/runtime/node.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { taskEnded, testNode } from '../helpers/node.ts';
import { serverLikeRuntime } from '../helpers/runtime.ts';

let db: TestDatabase;
let dir: string;
let node: Node;
const at = () => new Date().toISOString();

/** A PTY agent definition for one of the scripts below (written by beforeAll). */
const agent = (name: string, extra: Partial<AgentDefinition> = {}): AgentDefinition => ({
  name,
  label: name,
  binary: path.join(dir, name),
  args: ['{prompt}'],
  acpArgs: null,
  readOnlyArgs: null,
  acpReadOnlyModes: [],
  env: {},
  transport: 'pty',
  ...extra,
});

const scripts: Record<string, string> = {
  chatty: 'for i in $(seq 1 300); do echo "line $i"; done; echo "all done: $1"',
  failing: 'echo oops; exit 7',
  sleeper: 'echo $$ > "$1.pids"; /bin/sleep 600 & echo $! >> "$1.pids"; echo started; wait',
  whereami: 'pwd; echo "MODE=$MODE"; echo "args: $*"',
  slow: '/bin/sleep 600',
};

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 16 });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'boocoder-pty-'));
  for (const [name, body] of Object.entries(scripts)) {
    await fs.writeFile(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  const searchPath = `${dir}:/usr/bin:/bin`;
  const defs = [
    agent('chatty'),
    agent('failing'),
    agent('sleeper'),
    agent('whereami', { env: { MODE: 'test' }, readOnlyArgs: ['--read-only'] }),
  ];
  const agents = buildAgents(defs, { searchPath, timeoutMs: 60_000 });
  for (const [name, a] of buildAgents([agent('slow')], { searchPath, timeoutMs: 300 }))
    if (name === 'slow') agents.set(name, a);
  node = await testNode(
    db,
    { BOOCODER_WORKER_ID: 'pty-test', BOOCODER_WORKDIR: dir, BOOCODER_CONCURRENCY: '8' },
    agents,
  );
});
afterAll(async () => {
  await node.stop(1000);
  await fs.rm(dir, { recursive: true, force: true });
  await db.drop();
});

async function run(agentName: string, input: string, extra: Record<string, string> = {}) {
  const id = randomUUID();
  await serverLikeRuntime(db.pool).send('task', id, {
    type: 'task.created',
    input,
    agent: agentName,
    at: at(),
    ...extra,
  });
  return id;
}

const finished = (id: string) => taskEnded(db.pool, id);

const outputOf = async (id: string) =>
  (await createEventStore(db.pool).readStream(id))
    .filter((e) => e.type === 'task.output_appended')
    .map((e) => e.data.chunk as string);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('PTY agents', () => {
  it('stream output in order, coalesced into few events, and complete on exit 0', async () => {
    const id = await run('chatty', 'the prompt');
    expect(await finished(id)).toMatchObject({
      state: 'completed',
      output_summary: 'all done: the prompt',
      execution_path: 'pty',
    });
    const chunks = await outputOf(id);
    expect(chunks.length).toBeLessThan(30);
    const lines = chunks.join('').replace(/\r/g, '').split('\n').filter(Boolean);
    expect(lines).toEqual([
      ...Array.from({ length: 300 }, (_, i) => `line ${i + 1}`),
      'all done: the prompt',
    ]);
  });

  it('fail the task on a non-zero exit, with the last line', async () => {
    expect(await finished(await run('failing', 'x'))).toMatchObject({
      state: 'failed',
      error: 'agent "failing" exited with code 7: oops',
    });
  });

  it('run in the task workdir with a clean env plus configured vars; read-only adds its flags or fails closed', async () => {
    const sub = await fs.mkdtemp(path.join(dir, 'work-'));
    const id = await run('whereami', 'hi', { workdir: sub, mode_id: 'read_only' });
    expect(await finished(id)).toMatchObject({ state: 'completed' });
    const text = (await outputOf(id)).join('');
    expect(text).toContain(sub);
    expect(text).toContain('MODE=test');
    expect(text).toContain('args: hi --read-only');
    expect(await finished(await run('chatty', 'x', { mode_id: 'read_only' }))).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/has no read-only mode; refusing/) as string,
    });
  });

  it('stop at the wall-clock limit', async () => {
    expect(await finished(await run('slow', 'x'))).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/ran longer than 300 ms/) as string,
    });
  });

  it('kill the agent and its children when the task is cancelled', async () => {
    const marker = path.join(dir, randomUUID());
    const id = await run('sleeper', marker);
    const deadline = Date.now() + 20_000;
    while (!(await outputOf(id)).join('').includes('started')) {
      if (Date.now() > deadline) throw new Error('agent never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    const pids = (await fs.readFile(`${marker}.pids`, 'utf8')).trim().split('\n').map(Number);
    expect(pids.every(alive)).toBe(true);
    await serverLikeRuntime(db.pool).send('task', id, { type: 'task.cancelled', at: at() });
    expect(await finished(id)).toMatchObject({ state: 'cancelled' });
    const gone = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
    expect(pids.filter(alive)).toEqual([]);
  });
});
