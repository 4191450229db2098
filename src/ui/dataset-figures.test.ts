// What the dataset figures show, rendered as the page renders them (Svelte's server renderer, no browser): a
// shortfall as a visible warning with both numbers and why, the records per source, and why user-turn sampling
// was off; figures saved before these existed show as before.
import { render } from 'svelte/server';
import { describe, expect, it } from 'vitest';
import type { DatasetFigures as Figures } from '../genpi/dataset';
import DatasetFigures from './DatasetFigures.svelte';

const old: Figures = { records: 41, mean_turns: 1, share_turn_limit: 0, share_no_end_marker: 1, duplicates_dropped: 30, share_invalid_action: null };
const text = (html: string) => html.replace(/<!--[^]*?-->/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();

describe('DatasetFigures', () => {
  it('shows a shortfall beside the figures, with both numbers and the reason', () => {
    const figures: Figures = {
      ...old, requested: 64, sources: { seed: 5, user_turn: 30, list: 6 }, inputs_asked: { user_turn: 200, list: 64 }, user_turn_off: null,
      shortfall: { missing: 23, dropped: { duplicate: 30, empty: 2, too_long: 1 }, rounds: 16, budget_spent: true },
    };
    const { body } = render(DatasetFigures, { props: { figures } });
    expect(body).toMatch(/<p class="warning"[^>]*data-testid="dataset-shortfall"/);
    expect(text(body)).toContain('Synthesis wrote 41 of 64 records asked (23 short: 30 duplicates, 2 empty, 1 too long dropped; retry budget of 16 rounds spent).');
    expect(text(body)).toContain('Inputs by source 5 seed, 30 user-turn sampling (of 200 asked), 6 list request (of 64 asked)');
    expect(body).not.toContain('dataset-user-turn-off');
    expect(text(body)).not.toContain('gathered');
  });

  it('says the inputs were kept from a larger pool, spread over their traits', () => {
    const figures: Figures = { ...old, records: 64, requested: 64, sources: { seed: 0, user_turn: 64, list: 0 }, inputs_asked: { user_turn: 130, list: 0 }, input_pool: 128, shortfall: null };
    const { body } = render(DatasetFigures, { props: { figures } });
    expect(text(body)).toContain('Inputs by source 0 seed, 64 user-turn sampling (of 130 asked), 0 list request (of 0 asked); kept from 128 gathered, spread over their traits');
  });

  it('says why user-turn sampling was off, and shows no warning when nothing is short', () => {
    const figures: Figures = { ...old, records: 64, requested: 64, sources: { seed: 0, user_turn: 0, list: 64 }, user_turn_off: 'the chat template cannot add a user turn', shortfall: null };
    const { body } = render(DatasetFigures, { props: { figures } });
    expect(body).not.toContain('dataset-shortfall');
    expect(text(body)).toContain('User-turn sampling was off, only the list request wrote inputs: the chat template cannot add a user turn.');
  });

  it('shows figures saved before sources and shortfalls were recorded without either', () => {
    const { body } = render(DatasetFigures, { props: { figures: old } });
    expect(body).not.toContain('dataset-shortfall');
    expect(body).not.toContain('Inputs by source');
    expect(text(body)).toContain('Duplicate inputs dropped 30');
  });
});
