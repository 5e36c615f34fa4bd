import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PermissionOption } from '@agentclientprotocol/sdk/unstable';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseOption, permissionQuestion } from '../../src/adapters/acp/permissions.ts';
import { createUpdateRenderer, turnUsage } from '../../src/adapters/acp/session-updates.ts';
import { confine } from '../../src/adapters/file-changes.ts';
import { describeChange } from '../../src/adapters/unified-diff.ts';

const options: PermissionOption[] = [
  { optionId: 'proceed_always', name: 'Always', kind: 'allow_always' },
  { optionId: 'proceed_once', name: 'Once', kind: 'allow_once' },
  { optionId: 'cancel', name: 'No', kind: 'reject_once' },
];

describe('permission answers', () => {
  it('take an option id as is, "allow" as the narrowest yes, anything else as no', () => {
    expect(chooseOption(options, 'proceed_always')?.optionId).toBe('proceed_always');
    expect(chooseOption(options, 'allow')?.optionId).toBe('proceed_once');
    expect(chooseOption(options, ' Yes ')?.optionId).toBe('proceed_once');
    expect(chooseOption(options, 'reject')?.optionId).toBe('cancel');
    expect(chooseOption(options, 'sure, why not')?.optionId).toBe('cancel');
    expect(chooseOption(options.slice(0, 2), 'reject')).toBeNull();
  });

  it('become an inbox question naming the tool call and the options', () => {
    const q = permissionQuestion({
      sessionId: 's',
      toolCall: { toolCallId: 't1', title: 'Edit src/a.ts', kind: 'edit' },
      options,
    });
    expect(q).toEqual({
      kind: 'permission',
      prompt:
        'The agent asks to run: Edit src/a.ts (edit). Options: Always [proceed_always], Once [proceed_once], No [cancel]',
      options: ['proceed_always', 'proceed_once', 'cancel'],
    });
  });
});

describe('session updates', () => {
  it('render tool call ends with the title given when the call started', () => {
    const render = createUpdateRenderer();
    expect(
      render({ sessionUpdate: 'tool_call', toolCallId: 'a', title: 'grep', status: 'pending' }),
    ).toEqual({ output: '[tool] grep\n' });
    expect(
      render({ sessionUpdate: 'tool_call_update', toolCallId: 'a', status: 'in_progress' }),
    ).toEqual({});
    expect(
      render({ sessionUpdate: 'tool_call_update', toolCallId: 'a', status: 'failed' }),
    ).toEqual({
      output: '[tool] grep: failed\n',
    });
    expect(
      render({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'hi' } }),
    ).toEqual({ output: 'hi', message: 'hi' });
    expect(render({ sessionUpdate: 'usage_update', used: 10, size: 100 })).toEqual({});
  });

  it('count turn usage as tokens, clamping nonsense', () => {
    expect(turnUsage({ inputTokens: 3, outputTokens: 4, totalTokens: 7 })).toEqual({
      inputTokens: 3,
      outputTokens: 4,
      costTokens: 7,
    });
    expect(turnUsage({ inputTokens: -3, outputTokens: 2.7, totalTokens: 0 })).toEqual({
      inputTokens: 0,
      outputTokens: 2,
      costTokens: 2,
    });
    expect(turnUsage(null)).toBeNull();
  });
});

describe('proposed changes', () => {
  it('are described as create, edit or delete with a unified diff', () => {
    expect(describeChange('a.txt', null, 'x\n').operation).toBe('create');
    expect(describeChange('a.txt', 'x\n', null).operation).toBe('delete');
    const edit = describeChange('src/a.txt', 'one\ntwo\n', 'one\nthree\n');
    expect(edit.operation).toBe('edit');
    expect(edit.diff).toContain('--- a/src/a.txt');
    expect(edit.diff).toContain('+++ b/src/a.txt');
    expect(edit.diff).toContain('-two\n+three');
  });
});

describe('confine', () => {
  let root: string;
  let outside: string;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'boocoder-confine-'));
    outside = await fs.mkdtemp(path.join(os.tmpdir(), 'boocoder-outside-'));
    await fs.mkdir(path.join(root, 'src'));
    await fs.symlink(outside, path.join(root, 'linked-dir'));
    await fs.writeFile(path.join(outside, 'secret'), 's');
    await fs.symlink(path.join(outside, 'secret'), path.join(root, 'linked-file'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
    await fs.rm(outside, { recursive: true, force: true });
  });

  it('accepts relative and absolute paths inside the working directory', async () => {
    const real = await fs.realpath(root);
    expect(await confine(root, 'src/a.ts')).toBe(path.join(real, 'src/a.ts'));
    expect(await confine(root, path.join(root, 'src/a.ts'))).toBe(path.join(real, 'src/a.ts'));
    expect(await confine(root, path.join(real, 'new/deeper/b.ts'))).toBe(
      path.join(real, 'new/deeper/b.ts'),
    );
  });

  it('refuses .., absolute paths elsewhere, links out, and NUL bytes', async () => {
    expect(await confine(root, '../x')).toBeNull();
    expect(await confine(root, 'src/../../x')).toBeNull();
    expect(await confine(root, '/etc/passwd')).toBeNull();
    expect(await confine(root, `${root}-sibling/x`)).toBeNull();
    expect(await confine(root, 'linked-dir/x')).toBeNull();
    expect(await confine(root, 'linked-file')).toBeNull();
    expect(await confine(root, 'a\0b')).toBeNull();
    expect(await confine(path.join(root, 'missing'), 'x')).toBeNull();
  });
});
