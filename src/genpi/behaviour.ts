// One checker for every P the evaluation can score exactly: on the single-rule testbed one branch named after the
// rule P states, on the compound testbed one branch per condition of P plus "other". Evaluation, coverage and the
// quality bench ask this module which branch an input is in and whether an answer follows P, so neither needs to
// know which testbed it runs on; for any other P there is no checker (null) and they report what they can without.
import { branchOf, checkAnswer, compoundRulesOfPrompt, type CompoundRules } from './compound-testbed';
import type { TestbedKind } from './demo-models';
import { followsRule, ruleOfPrompt, type TestbedRule } from './testbed';

export interface BehaviourChecker {
  testbed: TestbedKind;
  /** The branches in P's order; every input falls in exactly one. */
  branches: string[];
  branchOf(input: string): string;
  /** Whether `output` is what P asks for `input`. */
  follows(input: string, output: string): boolean;
  /** The single-rule testbed's rule (what rule_accuracy names); absent on the compound testbed. */
  rule?: TestbedRule;
  compound?: CompoundRules;
}

/** The single-rule testbed's checker for `rule`: one branch, named after it. */
export function singleRuleChecker(rule: TestbedRule): BehaviourChecker {
  return { testbed: 'single', branches: [rule], branchOf: () => rule, follows: (x, y) => followsRule(rule, x, y), rule };
}

export function compoundChecker(rules: CompoundRules): BehaviourChecker {
  return {
    testbed: 'compound',
    branches: [...rules.branches.map((b) => b.when), 'other'],
    branchOf: (x) => branchOf(rules, x),
    follows: (x, y) => checkAnswer(rules, x, y).follows,
    compound: rules,
  };
}

/**
 * The checker for P on a testbed model (its folder has the marker), or null when P states nothing a testbed checks.
 * A compound P is read first: its rule lines name actions in the single testbed's words, so the other order could
 * take a compound P for a single rule.
 */
export function behaviourChecker(promptText: string): BehaviourChecker | null {
  const compound = compoundRulesOfPrompt(promptText);
  if (compound) return compoundChecker(compound);
  const rule = ruleOfPrompt(promptText);
  return rule ? singleRuleChecker(rule) : null;
}
