/**
 * Writing a reviewed change to disk, and undoing it. Both are idempotent and refuse to
 * clobber: a change applies only over the exact content it was made against (or where it is
 * already applied), reverts only over the exact content it wrote. Anything else is a conflict,
 * reported with its reason. Paths stay inside the change's working directory.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { PendingChangeContext } from '../machines/pending-change.ts';

export type Outcome = { ok: true } | { ok: false; reason: string };

/**
 * The absolute path of `filePath` under `workdir`, or null if it would leave the working
 * directory: through `..`, an absolute path elsewhere, or a symbolic link (a linked folder or
 * file pointing outside). `filePath` is relative to the working directory, or absolute (as ACP
 * sends it) under the working directory as given or as resolved.
 */
export async function confine(workdir: string, filePath: string): Promise<string | null> {
  const root = await fs.realpath(workdir).catch(() => null);
  if (!root || filePath.includes('\0')) return null;
  const inside = (p: string) => p === root || p.startsWith(root + path.sep);
  let relative = filePath;
  if (path.isAbsolute(filePath)) {
    const given = path.resolve(workdir);
    const absolute = path.resolve(filePath);
    const base = [given, root].find((b) => absolute === b || absolute.startsWith(b + path.sep));
    if (base === undefined) return null;
    relative = path.relative(base, absolute);
  }
  const target = path.resolve(root, relative);
  // Whatever exists of the path must resolve inside root too: a link could point anywhere.
  const real = await fs.realpath(target).catch(() => null);
  const parent = await fs.realpath(path.dirname(target)).catch(() => path.dirname(target));
  return inside(target) && inside(parent) && (real === null || inside(real)) ? target : null;
}

const confined = (change: PendingChangeContext) => confine(change.workdir, change.filePath);

export async function readIfExists(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
}

export async function writeAtomically(file: string, content: string | null): Promise<void> {
  if (content === null) {
    await fs.rm(file, { force: true });
    return;
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Write beside, then rename: a reader never sees half a file.
  const temp = `${file}.boocoder-${process.pid}-${Date.now()}`;
  await fs.writeFile(temp, content);
  await fs.rename(temp, file);
}

const describe = (content: string | null) =>
  content === null ? 'absent' : `${content.length} bytes`;

/** Moves the file from `from` to `to`, if it is at `from` (or already at `to`). */
async function move(
  change: PendingChangeContext,
  from: string | null,
  to: string | null,
  verb: string,
): Promise<Outcome> {
  const file = await confined(change);
  if (!file)
    return {
      ok: false,
      reason: `${change.filePath} is outside the working directory ${change.workdir}`,
    };
  const current = await readIfExists(file);
  if (current === to) return { ok: true };
  if (current !== from) {
    return {
      ok: false,
      reason: `${change.filePath} changed since the change was made (expected ${describe(from)}, found ${describe(current)}); not ${verb}`,
    };
  }
  await writeAtomically(file, to);
  return { ok: true };
}

export const applyToDisk = (change: PendingChangeContext) =>
  move(change, change.before, change.after, 'applied');
export const revertOnDisk = (change: PendingChangeContext) =>
  move(change, change.after, change.before, 'reverted');
