// The stages of a synthesis, as the progress line names them: the CLI's stderr, the app's synthesis card and the
// parts a training run writes first all show the stage running and its count, so none sits on a finished count
// while another stage runs.

/** The stage running and its count. */
export interface SynthesisStage {
  stage: 'inputs' | 'answers' | 'as_is' | 'reasons' | 'roleplay' | 'later_turns';
  done: number;
  total: number;
}

/** Each stage's name, in the order they run (role-play counts turns, the others requests). */
export const STAGE_NAMES: Record<SynthesisStage['stage'], string> = {
  inputs: 'pseudo inputs', answers: 'TO-BE answers', roleplay: 'role-play turns', later_turns: 'later turns', as_is: 'AS-IS answers',
  reasons: 'reasons',
};

/** "reasons 12/58": the progress line's text. */
export function stageLine(s: SynthesisStage): string {
  return `${STAGE_NAMES[s.stage]} ${s.done}/${s.total}`;
}
