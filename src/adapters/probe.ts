/**
 * The agent probe: which known agents are installed here, and which version. Each binary is
 * looked up on PATH by hand and asked `--version` directly (no shell), with a time limit after
 * which it is killed. The result replaces `available_agents`: agents not found are absent.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { AgentDefinition } from './definitions.ts';

export interface ProbedAgent {
  name: string;
  installPath: string;
  version: string | null;
  supportsAcp: boolean;
  label: string;
  transport: string;
}

/** The first executable file called `binary` on `searchPath` (or `binary` itself if it is a path). */
export async function findOnPath(binary: string, searchPath: string): Promise<string | null> {
  const candidates = binary.includes('/')
    ? [path.resolve(binary)]
    : searchPath
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, binary));
  for (const candidate of candidates) {
    try {
      const stat = await fs.stat(candidate);
      if (!stat.isFile()) continue;
      await fs.access(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function askVersion(
  file: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      file,
      ['--version'],
      { timeout: timeoutMs, killSignal: 'SIGKILL', env, maxBuffer: 64 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        if (error) return resolve(null);
        const line = `${stdout}\n${stderr}`.split('\n').find((l) => l.trim() !== '');
        resolve(line ? line.trim().slice(0, 200) : null);
      },
    );
  });
}

export async function probeAgents(
  definitions: readonly AgentDefinition[],
  options: { searchPath: string; timeoutMs?: number },
): Promise<ProbedAgent[]> {
  const env = { PATH: options.searchPath, LANG: 'C', HOME: process.env.HOME ?? '/tmp' };
  const found = await Promise.all(
    definitions.map(async (d): Promise<ProbedAgent | null> => {
      const installPath = await findOnPath(d.binary, options.searchPath);
      if (!installPath) return null;
      return {
        name: d.name,
        installPath,
        version: await askVersion(installPath, options.timeoutMs ?? 5000, env),
        supportsAcp: d.acpArgs !== null,
        label: d.label,
        transport: d.transport,
      };
    }),
  );
  return found.filter((a): a is ProbedAgent => a !== null);
}

/** Replaces the probe table with what was found, in one transaction. */
export async function recordProbe(pool: pg.Pool, agents: ProbedAgent[], at: Date): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('delete from available_agents where not (name = any($1))', [
      agents.map((a) => a.name),
    ]);
    await client.query(
      `insert into available_agents (name, install_path, version, supports_acp, label, transport, last_probed_at)
       select n, p, v, a, l, t, $7::timestamptz
       from unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[]) as u(n, p, v, a, l, t)
       on conflict (name) do update set install_path = excluded.install_path, version = excluded.version,
         supports_acp = excluded.supports_acp, label = excluded.label, transport = excluded.transport,
         last_probed_at = excluded.last_probed_at`,
      [
        agents.map((a) => a.name),
        agents.map((a) => a.installPath),
        agents.map((a) => a.version),
        agents.map((a) => a.supportsAcp),
        agents.map((a) => a.label),
        agents.map((a) => a.transport),
        at.toISOString(),
      ],
    );
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
