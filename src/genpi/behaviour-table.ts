// The per-branch, per-turn figures as a text table, one home for `genpi eval` and the quality bench: a row per
// branch (and one for all branches), a column per turn, each cell teacher / student / base and retention.
import type { BehaviourCell, BehaviourFigures } from './eval-turns';

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(0)}%`);

/** "100/95/0 (95%) n=8": teacher, student and base accuracy in percent, retention, inputs. */
export function behaviourCell(c: BehaviourCell): string {
  if (!c.inputs) return 'no inputs';
  const p = (x: number) => (100 * x).toFixed(0);
  return `${p(c.teacher)}/${p(c.student)}/${p(c.base)} (${pct(c.retention)}) n=${c.inputs}`;
}

export function formatBehaviour(b: BehaviourFigures): string {
  const turns = Array.from({ length: b.turns }, (_, t) => t + 1);
  const width = 26;
  const head = `${'branch'.padEnd(10)} ${turns.map((t) => `turn ${t}`.padStart(width)).join(' ')} ${'all turns'.padStart(width)}`;
  const rows = b.per_branch.map((pb) => {
    const cells = turns.map((turn) => behaviourCell(b.cells.find((c) => c.branch === pb.branch && c.turn === turn)!));
    return `${pb.branch.padEnd(10)} ${cells.map((c) => c.padStart(width)).join(' ')} ${behaviourCell(pb).padStart(width)}`;
  });
  const all = `${'all'.padEnd(10)} ${b.per_turn.map((c) => behaviourCell(c).padStart(width)).join(' ')}`;
  const worst = b.worst
    ? `worst branch: ${b.worst.branch} at turn ${b.worst.turn}, retention ${pct(b.worst.retention)}`
    : 'worst branch: none with enough inputs and a teacher above 0';
  return [`per branch and turn (${b.testbed} testbed): teacher/student/base accuracy in %, (retention), inputs`, head, ...rows, all, worst].join('\n');
}
