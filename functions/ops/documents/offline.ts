import type { OfflineGenerator } from '../../ai/providers/offlineProvider';
import { detectLanguage } from '../../platform/language';
import { DOCUMENT_SUMMARY_TASK, summaryVariablesSchema } from './summary';

/**
 * With no AI key, a document still gets a summary: extractive and deterministic. Its opening sentences
 * (after its title) are the summary, the first new sentence under each heading a key point, and the
 * language is told from common words.
 */
export const DOCUMENTS_OFFLINE_GENERATORS: Readonly<Record<string, OfflineGenerator>> = {
  [DOCUMENT_SUMMARY_TASK]: (variables) => JSON.stringify(offlineSummary(variables)),
};

const SUMMARY_TARGET_CHARS = 200;
const SUMMARY_MAX_SENTENCES = 2;
const MAX_KEY_POINTS = 5;
const MAX_SENTENCE_CHARS = 300;

interface Section {
  heading: string | undefined;
  sentences: string[];
}

export function offlineSummary(variables: Readonly<Record<string, unknown>>): {
  summary: string;
  keyPoints: string[];
  language: 'fr' | 'en';
} {
  const { text } = summaryVariablesSchema.parse(variables);
  const language = detectLanguage(text.slice(0, 5_000));
  const sections = sectionsOf(text);
  const [first] = sections;
  const title = first?.heading;

  const opening: string[] = [];
  for (const sentence of sections.flatMap((section) => section.sentences)) {
    if (opening.length >= SUMMARY_MAX_SENTENCES || opening.join(' ').length >= SUMMARY_TARGET_CHARS) break;
    opening.push(sentence);
  }
  const summary = [title, ...opening]
    .filter((part) => part !== undefined)
    .map(asSentence)
    .join(' ');
  const used = new Set(opening);

  const separator = language === 'fr' ? ' : ' : ': ';
  const headed = sections.filter((section) => section.heading !== undefined && section.heading !== title);
  let keyPoints = headed.flatMap((section) => {
    const point = section.sentences.find((sentence) => !used.has(sentence)) ?? section.sentences[0];
    return point ? [`${section.heading}${separator}${point}`] : [];
  });
  // Without headings to follow, the sentences after the summary's are the points.
  if (keyPoints.length < 2) {
    keyPoints = sections.flatMap((section) => section.sentences).filter((sentence) => !used.has(sentence));
  }

  return {
    summary:
      summary ||
      (language === 'fr' ? 'Le document ne contient pas de phrase.' : 'The document holds no sentence.'),
    keyPoints: keyPoints.slice(0, MAX_KEY_POINTS),
    language,
  };
}

/**
 * The text as headings and the sentences under them. A heading is a short line of its own that does not
 * end a sentence; other lines are joined into paragraphs (a PDF breaks its lines at the page's width), a
 * list item being a paragraph of its own.
 */
function sectionsOf(text: string): Section[] {
  const sections: Section[] = [{ heading: undefined, sentences: [] }];
  let paragraph: string[] = [];
  const current = () => sections[sections.length - 1] as Section;
  const endParagraph = () => {
    if (paragraph.length) current().sentences.push(...sentencesOf(paragraph.join(' ')));
    paragraph = [];
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') endParagraph();
    else if (isHeading(line)) {
      endParagraph();
      sections.push({ heading: line, sentences: [] });
    } else if (/^[-•*–]\s+/.test(line)) {
      endParagraph();
      paragraph.push(line.replace(/^[-•*–]\s+/, ''));
      endParagraph();
    } else paragraph.push(line);
  }
  endParagraph();
  const kept = sections.filter((section) => section.heading !== undefined || section.sentences.length);
  // A text of short lines only (a list of names, a form): its lines are its sentences.
  if (kept.every((section) => section.sentences.length === 0)) {
    return [{ heading: undefined, sentences: kept.map((section) => clip(section.heading ?? '')) }];
  }
  return kept;
}

function isHeading(line: string): boolean {
  return (
    line.length <= 80 &&
    line.split(/\s+/).length <= 10 &&
    /^[\p{Lu}\p{N}]/u.test(line) &&
    /\p{L}/u.test(line) &&
    !/[.!?;:,…]$/.test(line)
  );
}

/** A heading or a list item ends with a full stop once it stands in running text. */
function asSentence(text: string): string {
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

function sentencesOf(paragraph: string): string[] {
  return paragraph
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?…])\s+(?=[\p{Lu}\p{N}«"'(])/u)
    .map((sentence) => clip(sentence.trim()))
    .filter((sentence) => sentence !== '');
}

/** A run-on "sentence" (a table flattened, a log) is cut at a word. */
function clip(sentence: string): string {
  if (sentence.length <= MAX_SENTENCE_CHARS) return sentence;
  const head = sentence.slice(0, MAX_SENTENCE_CHARS);
  const space = head.lastIndexOf(' ');
  return `${space > MAX_SENTENCE_CHARS / 2 ? head.slice(0, space) : head}…`;
}
