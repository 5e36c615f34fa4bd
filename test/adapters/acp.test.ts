/**
 * The ACP transport against the scripted ACP agent: a real separate process speaking the
 * protocol over stdio, driven by a real worker on a real database.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/adapters/definitions.ts';
import { buildAgents, SCRIPTED_ACP, SCRIPTED_ACP_BIN } from '../../src/adapters/index.ts';
import type { Node } from '../../src/runtime/node.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { taskEnded, testNode } from '../helpers/node.ts';
import { serverLikeRuntime } from '../helpers/runtime.ts';

let db: TestDatabase;
let dir: string;
let node: Node;
const at = () => new Date().toISOString();

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 16 });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'boocoder-acp-'));
  await fs.mkdir(path.join(dir, 'work'));
  // An "agent" whose ACP server is a script that dies as soon as it is asked anything.
  const crasher = path.join(dir, 'crasher');
  await fs.writeFile(crasher, '#!/bin/sh\nread line\necho "boom" >&2\nexit 3\n', { mode: 0o755 });
  const crashing: AgentDefinition = {
    name: 'crasher',
    label: 'crasher',
    binary: crasher,
    args: [],
    acpArgs: [],
    readOnlyArgs: null,
    acpReadOnlyModes: ['plan'],
    env: {},
    transport: 'acp',
  };
  // The scripted agent, configured to accept only a read-only mode it does not offer.
  const noReadOnlyMode: AgentDefinition = {
    ...crashing,
    name: 'no-read-only-mode',
    binary: process.execPath,
    acpArgs: [SCRIPTED_ACP_BIN],
    acpReadOnlyModes: ['read-only'],
    env: { BOOCODER_SCRIPTED_ACP_STATE: path.join(dir, 'sessions') },
  };
  const agents = buildAgents([crashing, noReadOnlyMode], {
    searchPath: `${dir}:/usr/bin:/bin`,
    timeoutMs: 60_000,
    scriptedAcpStateDir: path.join(dir, 'sessions'),
  });
  node = await testNode(
    db,
    {
      BOOCODER_WORKER_ID: 'acp-test',
      BOOCODER_WORKDIR: path.join(dir, 'work'),
      BOOCODER_CONCURRENCY: '8',
      BOOCODER_LEASE_MS: '3000',
    },
    agents,
  );
});
afterAll(async () => {
  await node.stop(1000);
  await fs.rm(dir, { recursive: true, force: true });
  await db.drop();
});

async function run(input: string, extra: Record<string, unknown> = {}) {
  const id = randomUUID();
  await serverLikeRuntime(db.pool).send('task', id, {
    type: 'task.created',
    input,
    agent: SCRIPTED_ACP,
    at: at(),
    ...extra,
  });
  return id;
}

interface TaskRow {
  state: string;
  error: string | null;
  output_summary: string | null;
  execution_path: string;
  cost_tokens: string;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const taskRow = async (id: string) =>
  (
    await db.pool.query<TaskRow>(
      'select state, error, output_summary, execution_path, cost_tokens from tasks where id = $1',
      [id],
    )
  ).rows[0];

const finished = (id: string) => taskEnded(db.pool, id);

const output = async (id: string) =>
  (await createEventStore(db.pool).readStream(id))
    .filter((e) => e.type === 'task.output_appended')
    .map((e) => e.data.chunk as string)
    .join('');

async function inboxItem(taskId: string) {
  return waitFor('an inbox item', async () => {
    const { rows } = await db.pool.query<{
      kind: string;
      request_id: string;
      prompt: string;
      options: string[];
    }>('select kind, request_id, prompt, options from human_inbox where task_id = $1', [taskId]);
    return rows[0]?.kind === 'permission' ? rows[0] : undefined;
  });
}

describe('ACP agents (scripted ACP process)', () => {
  it('prompt → chunks, thoughts, tool calls and usage → completed', async () => {
    const id = await run('@say hello\n@think pondering\n@tool list files\n@usage 12 30\nall good');
    expect(await finished(id)).toMatchObject({
      state: 'completed',
      execution_path: 'acp',
      output_summary: 'all good',
    });
    expect(await output(id)).toBe(
      'hello\n[thought] pondering\n[tool] list files (other): in_progress\n[tool] list files: completed\nall good\n',
    );
    expect(Number((await taskRow(id))!.cost_tokens)).toBe(42);
  });

  it('a permission request blocks the task with an inbox item; allow lets the agent go on', async () => {
    const id = await run('@say before\n@ask edit main.ts\n@say after');
    const item = await inboxItem(id);
    expect(item.prompt).toContain('edit main.ts');
    expect(item.options).toEqual(['allow-once', 'reject-once']);
    expect((await taskRow(id))!.state).toBe('blocked');
    // Answered in this process: the deliverAnswer effect hands it to the waiting agent.
    await node.runtime.send('task', id, {
      type: 'task.request_answered',
      request_id: item.request_id,
      answer: 'allow',
      at: at(),
    });
    expect(await finished(id)).toMatchObject({ state: 'completed' });
    expect(await output(id)).toBe('before\npermission granted: edit main.ts\nafter\n');
    const { rows } = await db.pool.query('select 1 from human_inbox where task_id = $1', [id]);
    expect(rows).toHaveLength(0);
  });

  it('an answer given by another process reaches the agent too; reject ends the turn refused', async () => {
    const id = await run('@ask delete everything\n@say should not get here');
    const item = await inboxItem(id);
    // Another runtime (as the API in another process would): no effect here, only the log.
    await serverLikeRuntime(db.pool).send('task', id, {
      type: 'task.request_answered',
      request_id: item.request_id,
      answer: 'reject-once',
      at: at(),
    });
    const row = await finished(id);
    expect(row.state).toBe('failed');
    expect(row.error).toMatch(/refused/);
    expect(await output(id)).toBe('permission rejected: delete everything\n');
  });

  it('review mode: a write becomes a pending change, the disk is untouched, apply writes it', async () => {
    const work = await fs.mkdtemp(path.join(dir, 'review-'));
    await fs.writeFile(path.join(work, 'notes.txt'), 'old\n');
    const id = await run('@write notes.txt new\\n\n@read notes.txt\n@write added.txt fresh', {
      mode_id: 'review',
      workdir: work,
    });
    expect(await finished(id)).toMatchObject({ state: 'completed' });
    // The agent read back what it proposed; the disk still has the old content.
    expect(await output(id)).toContain('read notes.txt: new\n');
    expect(await fs.readFile(path.join(work, 'notes.txt'), 'utf8')).toBe('old\n');
    await expect(fs.stat(path.join(work, 'added.txt'))).rejects.toThrow();
    const { rows } = await db.pool.query<{
      id: string;
      file_path: string;
      operation: string;
      diff: string;
      status: string;
    }>(
      'select id, file_path, operation, diff, status from pending_changes where task_id = $1 order by file_path',
      [id],
    );
    expect(rows.map((r) => [r.file_path, r.operation, r.status])).toEqual([
      ['added.txt', 'create', 'pending'],
      ['notes.txt', 'edit', 'pending'],
    ]);
    expect(rows[1]!.diff).toContain('-old');
    expect(rows[1]!.diff).toContain('+new');
    await node.runtime.send('pending_change', rows[1]!.id, {
      type: 'pending_change.apply_requested',
      at: at(),
    });
    await waitFor('the change to apply', async () => {
      const { rows: r } = await db.pool.query<{ status: string }>(
        'select status from pending_changes where id = $1',
        [rows[1]!.id],
      );
      return r[0]?.status === 'applied' ? true : undefined;
    });
    expect(await fs.readFile(path.join(work, 'notes.txt'), 'utf8')).toBe('new\n');
  });

  it('writes straight to disk outside review mode, and refuses paths outside the working directory', async () => {
    const work = await fs.mkdtemp(path.join(dir, 'disk-'));
    const id = await run('@write inside.txt yes', { workdir: work });
    expect(await finished(id)).toMatchObject({ state: 'completed' });
    expect(await fs.readFile(path.join(work, 'inside.txt'), 'utf8')).toBe('yes');

    const escape = await run('@write ../escaped.txt no', { workdir: work });
    const row = await finished(escape);
    expect(row.state).toBe('failed');
    expect(row.error).toMatch(/outside the working directory/);
    await expect(fs.stat(path.join(dir, 'escaped.txt'))).rejects.toThrow();
    expect(await output(escape)).toContain('[refused] write');

    const read = await run('@read /etc/hostname', { workdir: work });
    expect((await finished(read)).error).toMatch(/outside the working directory/);
  });

  it('cancel mid-turn sends session/cancel and the task ends cancelled', async () => {
    const id = await run('@say working\n@sleep 60000\n@say never');
    await waitFor('output', async () =>
      (await output(id)).includes('working') ? true : undefined,
    );
    await serverLikeRuntime(db.pool).send('task', id, { type: 'task.cancelled', at: at() });
    expect(await finished(id)).toMatchObject({ state: 'cancelled' });
    await waitFor('the agent to let go', () =>
      Promise.resolve(node.worker!.running().includes(id) ? undefined : true),
    );
    expect(await output(id)).toBe('working\n');
  });

  it('cancelling a task blocked on a question answers the agent "cancelled"', async () => {
    const id = await run('@ask run tests');
    await inboxItem(id);
    await node.runtime.send('task', id, { type: 'task.cancelled', at: at() });
    expect(await finished(id)).toMatchObject({ state: 'cancelled' });
    await waitFor('the agent to let go', () =>
      Promise.resolve(node.worker!.running().includes(id) ? undefined : true),
    );
  });

  it('read-only runs switch to a mode that cannot write; an agent without one fails closed', async () => {
    const work = await fs.mkdtemp(path.join(dir, 'ro-'));
    const id = await run('@write plan.txt nope\n@say planned', {
      mode_id: 'read_only',
      workdir: work,
    });
    expect(await finished(id)).toMatchObject({ state: 'completed' });
    expect(await output(id)).toContain('plan mode: not writing plan.txt');
    await expect(fs.stat(path.join(work, 'plan.txt'))).rejects.toThrow();

    const refused = await run('@write plan.txt nope', {
      agent: 'no-read-only-mode',
      mode_id: 'read_only',
      workdir: work,
    });
    const row = await finished(refused);
    expect(row.state).toBe('failed');
    expect(row.error).toMatch(/offers no read-only session mode \(offered: default, plan/);
    expect(await output(refused)).toBe('');
  });

  it('an agent process that dies mid-turn fails the task and crashes its chat session', async () => {
    const chatId = randomUUID();
    const id = randomUUID();
    await serverLikeRuntime(db.pool).send('task', id, {
      type: 'task.created',
      input: 'hello',
      agent: 'crasher',
      chat_id: chatId,
      at: at(),
    });
    const row = await finished(id);
    expect(row.state).toBe('failed');
    expect(row.error).toMatch(/crasher/);
    const { rows } = await db.pool.query<{ status: string }>(
      'select status from agent_sessions where chat_id = $1',
      [chatId],
    );
    expect(rows).toEqual([{ status: 'crashed' }]);
  });

  it("a chat's next turn resumes the agent's session with session/load", async () => {
    const chatId = randomUUID();
    const first = await run('@history\nfirst', { chat_id: chatId });
    expect(await finished(first)).toMatchObject({ state: 'completed' });
    const second = await run('@history\nsecond', { chat_id: chatId });
    expect(await finished(second)).toMatchObject({ state: 'completed' });
    expect(await output(first)).toContain('prompts before this one: 0');
    expect(await output(second)).toContain('prompts before this one: 1');
    const { rows } = await db.pool.query<{ turns: number; agent_session_id: string }>(
      'select turns, agent_session_id from agent_sessions where chat_id = $1',
      [chatId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.turns).toBe(2);
    expect(rows[0]!.agent_session_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
