import { describe, expect, it } from 'vitest';
import { draftPost, fitPost } from '../../functions/linkedin/drafts';
import { offlineAi } from './support';

const hashtagsOf = (text: string) => text.match(/#[\p{L}\p{N}_]+/gu) ?? [];

describe('LinkedIn post drafts', () => {
  const ai = offlineAi();

  it('drafts a post in the language and tone asked for, with at most three hashtags', async () => {
    const french = await draftPost(ai, {
      topic: "l'intelligence artificielle générative dans les PME industrielles",
      tone: 'enthousiaste',
    });
    expect(french.language).toBe('fr');
    expect(french.text).toMatch(/^L'intelligence artificielle générative .*: je suis convaincu/);
    expect(french.text).toMatch(/quelle est votre expérience/);
    expect(hashtagsOf(french.text).length).toBeGreaterThan(0);
    expect(hashtagsOf(french.text).length).toBeLessThanOrEqual(3);

    const english = await draftPost(ai, { topic: 'remote onboarding', language: 'EN' });
    expect(english.language).toBe('en');
    expect(english.text).toMatch(/^Remote onboarding: three lessons from the field\./);
    expect(english.text.length).toBeLessThanOrEqual(3000);
  });

  it('holds any model answer to three hashtags and 3,000 characters', () => {
    const spammy = 'Big news today!\n\n#ai #ml #data #cloud #startup #growth';
    expect(fitPost(spammy)).toBe('Big news today!\n\n#ai #ml #data');
    const long = `${'Une phrase assez longue pour remplir le post. '.repeat(80)}\n\n#fin`;
    const fitted = fitPost(long);
    expect(fitted.length).toBeLessThanOrEqual(3000);
    expect(fitted).toMatch(/post\.$/);
  });

  it('names the field of a bad request', async () => {
    await expect(draftPost(ai, { topic: '' })).rejects.toThrow('body.topic: must not be empty');
    await expect(draftPost(ai, { topic: 'x', language: 'french' })).rejects.toThrow(
      'body.language: must be a two-letter language code',
    );
  });
});
