/** What a proposed file write does, as a person reviewing it reads it: a unified diff. */
import { createTwoFilesPatch } from 'diff';
import type { ChangeOperation } from '../machines/pending-change.ts';

export function describeChange(
  filePath: string,
  before: string | null,
  after: string | null,
): { operation: ChangeOperation; diff: string } {
  const operation: ChangeOperation =
    before === null ? 'create' : after === null ? 'delete' : 'edit';
  const diff = createTwoFilesPatch(
    before === null ? '/dev/null' : `a/${filePath}`,
    after === null ? '/dev/null' : `b/${filePath}`,
    before ?? '',
    after ?? '',
    undefined,
    undefined,
    { context: 3 },
  );
  return { operation, diff };
}
