import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createExitScanner, wrappedArgs } from '../../src/adapters/pty-exit.ts';

const mark = 'boocoder-exit-0123456789abcdef';

/** Feeds `text` cut at the given places; returns the output and the code seen. */
function scan(text: string, cuts: number[]) {
  const scanner = createExitScanner(mark);
  let out = '';
  let last = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    out += scanner.push(text.slice(last, cut));
    last = cut;
  }
  out += scanner.push(text.slice(last));
  return { out, code: scanner.code, rest: scanner.flush() };
}

describe('the PTY exit mark', () => {
  it('is found however the output is cut, and withholds nothing of the agent’s own output', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\r\n', '\n', ':', '7') }),
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (own, exitCode, cuts) => {
          const text = `${own}\r\n${mark}:${exitCode}\r\n\r\n`;
          const result = scan(
            text,
            cuts.map((c) => c % (text.length + 1)),
          );
          expect(result.code).toBe(exitCode);
          expect(result.out).toBe(own);
          expect(result.rest).toBe('');
        },
      ),
    );
  });

  it('hands back everything when the agent never got to the mark (killed)', () => {
    const scanner = createExitScanner(mark);
    const out = scanner.push('partial line\r\nand a half') + scanner.flush();
    expect(out).toBe('partial line\r\nand a half');
    expect(scanner.code).toBeNull();
  });

  it('passes the prompt to the agent as one argument, never through the shell', () => {
    const prompt = '$(touch /tmp/pwned) `id` "; exit 3; \'';
    const printed = execFileSync(
      '/bin/sh',
      wrappedArgs(mark, '/usr/bin/printf', ['[%s]', prompt]),
      {
        input: '\n',
      },
    ).toString();
    expect(printed).toBe(`[${prompt}]\n${mark}:0\n`);
  });
});
