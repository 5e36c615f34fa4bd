/**
 * A clean end for PTY agents. node-pty reports a child's exit and, if the terminal has not
 * been read to its end within 200 ms, destroys it with the rest of the output unread (seen
 * under load: hundreds of lines lost). So the agent runs under a small wrapper that, once the
 * agent has exited, prints a per-run mark with its exit code and waits for our acknowledgement
 * before exiting itself: seeing the mark proves every byte before it has been read.
 *
 * The wrapper is fixed text; the agent's path and arguments reach it as positional
 * parameters ("$@"), never parsed by the shell, so a prompt cannot inject anything.
 */
export const EXIT_WRAPPER =
  'mark=$1; shift; "$@"; code=$?; printf \'\\n%s:%d\\n\' "$mark" "$code"; IFS= read -r _; exit "$code"';

/** The argv that runs `file args…` under the wrapper (with /bin/sh). */
export function wrappedArgs(mark: string, file: string, args: string[]): string[] {
  return ['-c', EXIT_WRAPPER, 'boocoder-pty', mark, file, ...args];
}

export interface ExitScanner {
  /** Terminal output in; the agent's own output out (the mark and what follows it withheld). */
  push(data: string): string;
  /** Whatever is still held back (at an exit without the mark). */
  flush(): string;
  /** The agent's exit code, once the mark has been seen. */
  readonly code: number | null;
}

export function createExitScanner(mark: string): ExitScanner {
  // Enough to hold a mark split across chunks, with the newline printed before it.
  const hold = mark.length + 2;
  const pattern = new RegExp(`\\r?\\n${mark}:(\\d+)\\r?\\n`);
  let pending = '';
  let code: number | null = null;
  return {
    push(data) {
      if (code !== null) return '';
      pending += data;
      const found = pattern.exec(pending);
      if (found) {
        code = Number(found[1]);
        const out = pending.slice(0, found.index);
        pending = '';
        return out;
      }
      // A mark may still be arriving: hold back from the newline it would follow (and that
      // newline's carriage return, which may have come alone).
      const newline = pending.lastIndexOf('\n');
      let keepFrom =
        newline >= 0 && pending.length - newline <= hold + 16 ? newline : pending.length;
      if (pending[keepFrom - 1] === '\r') keepFrom -= 1;
      const out = pending.slice(0, keepFrom);
      pending = pending.slice(keepFrom);
      return out;
    },
    flush() {
      const out = pending;
      pending = '';
      return out;
    },
    get code() {
      return code;
    },
  };
}
