import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_AGENTS, loadAgentDefinitions } from '../../src/adapters/definitions.ts';
import { probeAgents, recordProbe } from '../../src/adapters/probe.ts';
import { ConfigError } from '../../src/errors.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let bin: string;
beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 2 });
  bin = await fs.mkdtemp(path.join(os.tmpdir(), 'boocoder-probe-'));
  const script = async (name: string, body: string, mode = 0o755) => {
    await fs.writeFile(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode });
  };
  await script('claude', 'echo "2.1.0 (Claude Code)"');
  await script('opencode', 'echo "opencode 0.9.1" >&2');
  // Hangs on --version: must be killed, and still listed (installed, version unknown).
  await script('gemini', `exec /bin/sleep 600 # boocoder-probe-hang-${process.pid}`);
  // Not executable: not an installed agent.
  await script('goose', 'echo goose 1.0', 0o644);
});
afterAll(async () => {
  await fs.rm(bin, { recursive: true, force: true });
  await db.drop();
});

describe('agent probe', () => {
  it('finds installed agents on PATH with their versions, kills a hung --version, and leaves the rest absent', async () => {
    const found = await probeAgents(BUILT_IN_AGENTS, { searchPath: bin, timeoutMs: 500 });
    const byName = Object.fromEntries(found.map((a) => [a.name, a]));
    expect(Object.keys(byName).sort()).toEqual(['claude', 'gemini', 'opencode']);
    expect(byName.claude).toMatchObject({
      version: '2.1.0 (Claude Code)',
      installPath: path.join(bin, 'claude'),
      supportsAcp: false,
      label: 'Claude Code',
    });
    expect(byName.opencode).toMatchObject({ version: 'opencode 0.9.1', supportsAcp: true });
    expect(byName.gemini).toMatchObject({ version: null });
    const stillRunning = (() => {
      try {
        return execFileSync('pgrep', ['-f', `boocoder-probe-hang-${process.pid}`])
          .toString()
          .trim();
      } catch {
        return '';
      }
    })();
    expect(stillRunning).toBe('');

    await recordProbe(db.pool, found, new Date('2026-01-01T00:00:00Z'));
    // A later probe that no longer finds claude drops it.
    await recordProbe(
      db.pool,
      found.filter((a) => a.name !== 'claude'),
      new Date('2026-01-02T00:00:00Z'),
    );
    const { rows } = await db.pool.query<{
      name: string;
      version: string | null;
      supports_acp: boolean;
    }>('select name, version, supports_acp from available_agents order by name');
    expect(rows).toEqual([
      { name: 'gemini', version: null, supports_acp: true },
      { name: 'opencode', version: 'opencode 0.9.1', supports_acp: true },
    ]);
  });

  it('merges a user agents file over the built-in agents, and rejects a bad one clearly', async () => {
    const file = path.join(bin, 'agents.json');
    await fs.writeFile(
      file,
      JSON.stringify({
        agents: {
          claude: { binary: '/opt/claude/bin/claude' },
          mine: { binary: 'my-agent', args: ['--ask', '{prompt}'] },
        },
      }),
    );
    const defs = await loadAgentDefinitions(file);
    expect(defs.find((d) => d.name === 'claude')).toMatchObject({
      binary: '/opt/claude/bin/claude',
      args: ['-p', '{prompt}'],
      readOnlyArgs: ['--permission-mode', 'plan'],
    });
    expect(defs.find((d) => d.name === 'mine')).toMatchObject({
      binary: 'my-agent',
      transport: 'pty',
      readOnlyArgs: null,
    });
    expect(await loadAgentDefinitions(path.join(bin, 'missing.json'))).toHaveLength(
      BUILT_IN_AGENTS.length,
    );
    await fs.writeFile(file, JSON.stringify({ agents: { mine: { args: 'nope' } } }));
    await expect(loadAgentDefinitions(file)).rejects.toBeInstanceOf(ConfigError);
    await fs.writeFile(
      file,
      JSON.stringify({ agents: { mine: { binary: 'x', args: [], transport: 'acp' } } }),
    );
    await expect(loadAgentDefinitions(file)).rejects.toThrow(/transport "acp" needs "acpArgs"/);
    await fs.writeFile(
      file,
      JSON.stringify({ agents: { gemini: { transport: 'pty', acpReadOnlyModes: ['plan'] } } }),
    );
    expect((await loadAgentDefinitions(file)).find((d) => d.name === 'gemini')).toMatchObject({
      transport: 'pty',
      acpArgs: ['--acp'],
    });
    await fs.writeFile(file, '{not json');
    await expect(loadAgentDefinitions(file)).rejects.toThrow(/not valid JSON/);
  });
});
