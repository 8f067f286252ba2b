import { foldText } from './text';

/** Common French and English words (accents folded): what tells the two languages apart in short text. */
export const FRENCH_WORDS: ReadonlySet<string> = new Set(
  'le la les des du de et est sont pour vous votre vos nous je ai bonjour merci quels quelles quel quelle sur dans avec pas qui que au aux ce cette madame monsieur cordialement suis mon ma mes une un il elle pourriez serait savoir ou mais donc tres bravo super article sujet notre nos'.split(
    ' ',
  ),
);
export const ENGLISH_WORDS: ReadonlySet<string> = new Set(
  'the and is are for you your we i hello hi thanks thank what which when how of to in with please would could regards dear my me about an be can do does it this that there will from have great post our love'.split(
    ' ',
  ),
);

/**
 * French or English, by common words and accents: the two languages the offline generators write.
 * French when unsure (the suite's users write French first).
 */
export function detectLanguage(text: string): 'fr' | 'en' {
  const words = foldText(text).split(/[^a-z]+/);
  const french = words.filter((w) => FRENCH_WORDS.has(w)).length;
  const english = words.filter((w) => ENGLISH_WORDS.has(w)).length;
  const accents = (text.match(/[àâçéèêëîïôûùüÿœ]/gi) ?? []).length;
  return french + accents / 2 >= english ? 'fr' : 'en';
}
