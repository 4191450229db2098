// The grads command's batch file: {"groups":[{"weight":w,"sequences":[{"input_ids":[...],"labels":[...]}]}]},
// checked field by field so a malformed file gets one line that says where.
import { ModelError } from '../model/errors';
import { IGNORE } from '../llama/batch';
import type { Group } from './batch';

export function parseBatchFile(json: unknown, file: string): Group[] {
  const fail = (where: string, problem: string): never => {
    throw new ModelError(file, problem, where);
  };
  const groups = (json as { groups?: unknown })?.groups;
  if (!Array.isArray(groups) || groups.length === 0) fail('groups', 'must be a non-empty list of {"weight", "sequences"}');
  return (groups as unknown[]).map((g, gi) => {
    const where = `groups[${gi}]`;
    const { weight, sequences } = (g ?? {}) as { weight?: unknown; sequences?: unknown };
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) fail(`${where}.weight`, 'must be a number >= 0');
    if (!Array.isArray(sequences) || sequences.length === 0) fail(`${where}.sequences`, 'must be a non-empty list');
    return {
      weight: weight as number,
      sequences: (sequences as unknown[]).map((s, si) => {
        const w = `${where}.sequences[${si}]`;
        const { input_ids, labels } = (s ?? {}) as { input_ids?: unknown; labels?: unknown };
        const ints = (v: unknown, name: string, min: number): number[] => {
          if (!Array.isArray(v) || v.length === 0) fail(`${w}.${name}`, 'must be a non-empty list of whole numbers');
          for (const x of v as unknown[]) if (!Number.isInteger(x) || (x as number) < min) fail(`${w}.${name}`, `has ${JSON.stringify(x)}, not a whole number >= ${min}`);
          return v as number[];
        };
        const ids = ints(input_ids, 'input_ids', 0);
        const lab = ints(labels, 'labels', IGNORE);
        if (lab.length !== ids.length) fail(`${w}.labels`, `has ${lab.length} entries but input_ids has ${ids.length}`);
        for (const l of lab) if (l < 0 && l !== IGNORE) fail(`${w}.labels`, `has ${l}; labels are token ids or ${IGNORE}`);
        return { input_ids: ids, labels: lab };
      }),
    };
  });
}
