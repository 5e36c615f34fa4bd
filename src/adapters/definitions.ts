/**
 * Agents by name: which binary, how to hand it a prompt, which transports it speaks, and
 * how (if at all) it runs read-only. Built-in entries for the common coding CLIs; a user's
 * JSON file (BOOCODER_AGENTS_FILE) adds agents or overrides fields of built-in ones.
 * `{prompt}` in args is replaced by the task's input (passed as one argument, no shell).
 */
import fs from 'node:fs/promises';
import { ConfigError } from '../errors.ts';

export interface AgentDefinition {
  name: string;
  label: string;
  binary: string;
  /** Arguments of a one-shot prompt run over a PTY. */
  args: string[];
  /** Arguments that start the agent as an ACP server over stdio, if it has one. */
  acpArgs: string[] | null;
  /** Extra arguments that make the run read-only; null: it cannot, and read-only tasks fail closed. */
  readOnlyArgs: string[] | null;
  /**
   * ACP session modes (ids) that cannot write, in order of preference: a read-only run switches
   * the session to the first one the agent offers, and fails closed if it offers none.
   */
  acpReadOnlyModes: string[];
  /** Environment added to the clean one the agent is given. */
  env: Record<string, string>;
  transport: 'pty' | 'acp';
}

/** How a CLI agent's process is run, whatever its transport. */
export interface CliAgentOptions {
  definition: AgentDefinition;
  /** PATH to find the binary on, and to give the agent. */
  searchPath: string;
  timeoutMs: number;
  /** Output coalescing: at most one output event per `flushMs` or `flushBytes`. */
  flushMs?: number;
  flushBytes?: number;
  /** How long a stopped agent gets to exit before its process group is killed. */
  killGraceMs?: number;
}

/** Names agents commonly give the session mode in which they plan but do not edit. */
export const DEFAULT_READ_ONLY_MODES = ['plan', 'read-only', 'readonly', 'review'];

const builtIn = (
  d: Partial<AgentDefinition> & Pick<AgentDefinition, 'name' | 'binary' | 'args'>,
): AgentDefinition => ({
  label: d.name,
  acpArgs: null,
  readOnlyArgs: null,
  acpReadOnlyModes: DEFAULT_READ_ONLY_MODES,
  env: {},
  transport: 'pty',
  ...d,
});

export const BUILT_IN_AGENTS: readonly AgentDefinition[] = [
  builtIn({
    name: 'claude',
    label: 'Claude Code',
    binary: 'claude',
    args: ['-p', '{prompt}'],
    readOnlyArgs: ['--permission-mode', 'plan'],
  }),
  builtIn({
    name: 'opencode',
    label: 'opencode',
    binary: 'opencode',
    args: ['run', '{prompt}'],
    acpArgs: ['acp'],
    transport: 'acp',
  }),
  builtIn({
    name: 'goose',
    label: 'goose',
    binary: 'goose',
    args: ['run', '-t', '{prompt}'],
    acpArgs: ['acp'],
    transport: 'acp',
  }),
  builtIn({
    name: 'gemini',
    label: 'Gemini CLI',
    binary: 'gemini',
    args: ['-p', '{prompt}'],
    acpArgs: ['--acp'],
    transport: 'acp',
  }),
  builtIn({
    name: 'qwen',
    label: 'Qwen Code',
    binary: 'qwen',
    args: ['-p', '{prompt}'],
    acpArgs: ['--acp'],
    transport: 'acp',
  }),
  // Claude Code speaks ACP through Zed's adapter (npm i -g @agentclientprotocol/claude-agent-acp).
  builtIn({
    name: 'claude-acp',
    label: 'Claude Code (ACP)',
    binary: 'claude-agent-acp',
    args: [],
    acpArgs: [],
    transport: 'acp',
  }),
  builtIn({ name: 'pi', label: 'pi', binary: 'pi', args: ['-p', '{prompt}'] }),
  builtIn({
    name: 'codex',
    label: 'Codex CLI',
    binary: 'codex',
    args: ['exec', '{prompt}'],
    readOnlyArgs: ['--sandbox', 'read-only'],
  }),
];

const stringList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');

function checkDefinition(
  name: string,
  raw: unknown,
  base: AgentDefinition | undefined,
): AgentDefinition {
  const where = `agent "${name}" in the agents file`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`${where} must be an object`);
  const r = raw as Record<string, unknown>;
  const merged = {
    ...(base ?? {
      name,
      label: name,
      acpArgs: null,
      readOnlyArgs: null,
      acpReadOnlyModes: DEFAULT_READ_ONLY_MODES,
      env: {},
      transport: 'pty',
    }),
    ...r,
    name,
  } as Record<string, unknown>;
  if (typeof merged.binary !== 'string' || merged.binary === '')
    throw new ConfigError(`${where} needs a "binary"`);
  if (!stringList(merged.args)) throw new ConfigError(`${where}: "args" must be a list of strings`);
  for (const key of ['acpArgs', 'readOnlyArgs'] as const) {
    if (merged[key] !== null && !stringList(merged[key]))
      throw new ConfigError(`${where}: "${key}" must be a list of strings or null`);
  }
  if (!stringList(merged.acpReadOnlyModes))
    throw new ConfigError(`${where}: "acpReadOnlyModes" must be a list of strings`);
  if (merged.transport === 'acp' && !stringList(merged.acpArgs))
    throw new ConfigError(`${where}: transport "acp" needs "acpArgs" (a list, maybe empty)`);
  if (
    typeof merged.env !== 'object' ||
    merged.env === null ||
    !Object.values(merged.env).every((v) => typeof v === 'string')
  ) {
    throw new ConfigError(`${where}: "env" must map names to strings`);
  }
  if (merged.transport !== 'pty' && merged.transport !== 'acp')
    throw new ConfigError(`${where}: "transport" must be pty or acp`);
  if (typeof merged.label !== 'string') throw new ConfigError(`${where}: "label" must be text`);
  return merged as unknown as AgentDefinition;
}

/** The built-in agents, with the user's file merged over them (a missing file is no error). */
export async function loadAgentDefinitions(file: string | undefined): Promise<AgentDefinition[]> {
  const byName = new Map(BUILT_IN_AGENTS.map((d) => [d.name, d]));
  if (!file) return [...byName.values()];
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [...byName.values()];
    throw new ConfigError(`cannot read agents file ${file}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`agents file ${file} is not valid JSON`, { cause });
  }
  const agents = (parsed as { agents?: unknown })?.agents;
  if (typeof agents !== 'object' || agents === null || Array.isArray(agents)) {
    throw new ConfigError(`agents file ${file} must look like {"agents": {"<name>": {...}}}`);
  }
  for (const [name, raw] of Object.entries(agents)) {
    if (!/^[a-z][a-z0-9_-]*$/.test(name))
      throw new ConfigError(`agent name "${name}" must be lowercase letters, digits, - or _`);
    byName.set(name, checkDefinition(name, raw, byName.get(name)));
  }
  return [...byName.values()];
}
