import type { OfflineGenerator } from '../ai/providers/offlineProvider';
import { detectLanguage, ENGLISH_WORDS, FRENCH_WORDS } from '../platform/language';
import { foldText } from '../platform/text';
import {
  classifyVariablesSchema,
  MAILBOX_CLASSIFY_TASK,
  type Classification,
  type ClassificationCategory,
} from './classification';
import { MAILBOX_REPLY_TASK, replyVariablesSchema, type ReplyVariables } from './reply';

/**
 * The mailbox's offline answers: with no AI key, mail is still classified (by keywords) and answered
 * (by quoting the documents), so the whole flow runs, deterministically, and a timetable request gets
 * the real hours of the knowledge base.
 */
export const MAILBOX_OFFLINE_GENERATORS: Readonly<Record<string, OfflineGenerator>> = {
  [MAILBOX_CLASSIFY_TASK]: (variables) => JSON.stringify(offlineClassify(variables)),
  [MAILBOX_REPLY_TASK]: (variables) => offlineReply(variables),
};

// --- classification ---------------------------------------------------------------------------------

/**
 * Word beginnings (accents folded) that point to a category, French and English. Each counts once
 * per mail, twice in the subject. Tie order: the first category listed wins.
 */
const KEYWORDS: [ClassificationCategory, string[]][] = [
  [
    'inscription',
    [
      'inscri',
      'candidat',
      'postul',
      'admission',
      'dossier',
      'piece',
      'date limite',
      'frais de dossier',
      'entretien',
      'apply',
      'enrol',
      'registration',
      'register',
      'deadline',
      'requirement',
    ],
  ],
  [
    'programme',
    [
      'program',
      'formation',
      'cursus',
      'bts',
      'bachelor',
      'master',
      'licence',
      'diplome',
      'specialite',
      'alternance',
      'matiere',
      'debouche',
      'contenu',
      'frais de scolarite',
      'duree',
      'course',
      'degree',
      'curriculum',
      'syllabus',
      'module',
      'work-study',
      'apprenticeship',
      'tuition',
      'how long',
    ],
  ],
  [
    'horaires',
    [
      'horaire',
      'heure d',
      'ouvert',
      'fermeture',
      'calendrier',
      'rentree',
      'vacances',
      'emploi du temps',
      'planning',
      'a quelle heure',
      'timetable',
      'schedule',
      'opening hours',
      'opening time',
      'open day',
      'office hours',
      'class times',
      'calendar',
      'term dates',
      'holiday',
      'start date',
      'what time',
    ],
  ],
  [
    'autre',
    [
      'logement',
      'housing',
      'accommodation',
      'restaura',
      'cafeteria',
      'handicap',
      'acces',
      'disab',
      'adresse',
      'parking',
      'metro',
      'bourse',
      'scholarship',
      'attestation',
      'certificat de scolarite',
      'reclamation',
      'complaint',
      'rembourse',
      'refund',
    ],
  ],
  [
    'ignore',
    [
      'unsubscribe',
      'desabonn',
      'newsletter',
      'publicite',
      'promotion',
      'offre speciale',
      'special offer',
      'backlink',
      'referencement',
      'crypto',
      'bitcoin',
      'casino',
      'lottery',
      'loterie',
      'gagnez',
      'you have won',
      'vous avez gagne',
      'cliquez ici',
      'click here',
      'limited time',
    ],
  ],
];

/** Folded, apostrophes as spaces, one space between words: the form keywords are looked for in. */
function searchable(text: string): string {
  return ` ${foldText(text)
    .replace(/['’`]/g, ' ')
    .replace(/[^a-z0-9-]+/g, ' ')} `;
}

function hits(text: string, keywords: readonly string[]): number {
  return keywords.filter((keyword) => text.includes(` ${keyword}`)).length;
}

/**
 * The category with the most keyword evidence. Confidence grows with the evidence (1 − 0.5^score)
 * and shrinks when another category is close: a mail that matches nothing is `autre` at 0.3, so with
 * the default threshold it waits for a person.
 */
export function offlineClassify(variables: Readonly<Record<string, unknown>>): Classification {
  const { subject, text } = classifyVariablesSchema.parse(variables);
  const inSubject = searchable(subject);
  const inText = searchable(text);
  const scores = KEYWORDS.map(
    ([category, keywords]) => [category, 2 * hits(inSubject, keywords) + hits(inText, keywords)] as const,
  );
  const ranked = [...scores].sort((a, b) => b[1] - a[1]);
  const [category, best] = ranked[0] ?? ['autre', 0];
  const second = ranked[1]?.[1] ?? 0;
  const language = detectLanguage(`${subject}\n${text}`);
  const summary = summarise(subject, text);
  if (best === 0) return { category: 'autre', confidence: 0.3, language, summary };
  const evidence = 1 - 0.5 ** best;
  const margin = (best - second) / best;
  const confidence = Math.round(Math.min(0.95, evidence * (0.6 + 0.4 * margin)) * 100) / 100;
  return { category, confidence, language, summary };
}

export { detectLanguage };

// A greeting opening a line: "Bonjour,", "Madame, Monsieur,", "Dear Sir or Madam,".
const GREETING =
  /^(bonjour( à tous)?|bonsoir|hello|hi|dear\b[^,]*|madame,? monsieur|madame|monsieur|good (morning|afternoon|evening))\b[\s,!.]*/i;

/** The first sentence that is not a greeting, else the subject. */
function summarise(subject: string, text: string): string {
  const line = text
    .split('\n')
    .map((l) => l.trim().replace(GREETING, ''))
    .find((l) => l && !/^[-_=*]{2,}$/.test(l));
  const sentence = line ? (/^.*?[.?!](?=\s|$)/.exec(line)?.[0] ?? line) : subject;
  const capitalised = sentence.charAt(0).toUpperCase() + sentence.slice(1);
  return capitalised.length > 200 ? `${capitalised.slice(0, 197)}...` : capitalised;
}

// --- reply --------------------------------------------------------------------------------------------

interface Section {
  heading: string;
  lines: string[];
  /** Where it sits, so the answer quotes sections in the documents' order. */
  order: number;
  score: number;
}

const STOP_WORDS = new Set([
  ...FRENCH_WORDS,
  ...ENGLISH_WORDS,
  ...'voudrais aimerais souhaiterais souhaite connaitre pouvez pourriez avance informations information svp like know could please best interested ecole school votre our their leur nos notre est-ce'.split(
    ' ',
  ),
]);
const MAX_SECTIONS = 3;
const MAX_QUOTED_CHARS = 2500;

/** The distinct word stems of a text (folded, plural s/x removed), less common words. */
function stems(text: string): Set<string> {
  return new Set(
    foldText(text)
      .replace(/['’]/g, ' ')
      .split(/[^a-z0-9]+/)
      .filter((word) => word.length >= 3 && !STOP_WORDS.has(word))
      .map((word) => (word.length > 4 ? word.replace(/[sx]$/, '') : word)),
  );
}

function sectionsOf(documents: ReplyVariables['documents']): Section[] {
  const sections: Section[] = [];
  for (const [docIndex, document] of documents.entries()) {
    let current: Section = { heading: document.title, lines: [], order: docIndex * 1000, score: 0 };
    const push = () => {
      if (current.lines.some((line) => line.trim())) sections.push(current);
    };
    for (const line of document.body.split('\n')) {
      const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
      if (heading) {
        push();
        current = { heading: heading[1] as string, lines: [], order: current.order + 1, score: 0 };
      } else current.lines.push(line);
    }
    push();
  }
  return sections;
}

/**
 * Scores each section by the words of the mail it shares: three points for a word of its heading,
 * one for a word of its text. Sections scoring at least 40 % of the best (and 2) are quoted, at most
 * three, in the documents' order.
 */
function relevantSections(variables: ReplyVariables): Section[] {
  const question = stems(`${variables.subject}\n${variables.text}`);
  const sections = sectionsOf(variables.documents);
  for (const section of sections) {
    const heading = stems(section.heading);
    const body = stems(section.lines.join('\n'));
    for (const word of question) section.score += (heading.has(word) ? 3 : 0) + (body.has(word) ? 1 : 0);
  }
  const best = Math.max(0, ...sections.map((s) => s.score));
  const threshold = Math.max(2, best * 0.4);
  const chosen: Section[] = [];
  let length = 0;
  for (const section of [...sections].sort((a, b) => b.score - a.score || a.order - b.order)) {
    if (section.score < threshold || chosen.length === MAX_SECTIONS) break;
    const size = section.lines.join('\n').length;
    if (chosen.length > 0 && length + size > MAX_QUOTED_CHARS) continue;
    chosen.push(section);
    length += size;
  }
  return chosen.sort((a, b) => a.order - b.order);
}

/** Markdown made plain: emphasis and code marks dropped, links as "text (url)"; lists kept. */
function plain(line: string): string {
  return line
    .replace(/!?\[([^\]]*)\]\(([^)\s]+)\)/g, (_, label: string, url: string) =>
      label ? `${label} (${url})` : url,
    )
    .replace(/(\*\*|__|`)/g, '')
    .replace(/(^|\s)[*_]([^*_\s][^*_]*)[*_](?=\s|[.,;:!?]|$)/g, '$1$2')
    .trimEnd();
}

/**
 * A deterministic answer: the template's greeting (by name when known) and introduction, the
 * document sections that match the mail, quoted as they are written (so every hour, date and price
 * comes from the documents), then the notice, closing and signature. When no section matches, the
 * template's "a person will answer" line instead.
 */
export function offlineReply(variables: Readonly<Record<string, unknown>>): string {
  const input = replyVariablesSchema.parse(variables);
  const { template, language } = input;
  const greeting = input.fromName
    ? template.greeting.replace(/\{name\}/g, input.fromName)
    : template.greetingWithoutName;
  const sections = relevantSections(input);
  const colon = language === 'fr' ? ' :' : ':';
  const quoted = sections.map((section) =>
    `${plain(section.heading)}${colon}\n${section.lines.map(plain).join('\n').trim()}`.replace(
      /\n{3,}/g,
      '\n\n',
    ),
  );
  const parts = quoted.length > 0 ? [greeting, template.intro, ...quoted] : [greeting, template.noAnswer];
  return [...parts, template.notice, `${template.closing}\n${template.signature}`]
    .map((part) => part.trim())
    .filter(Boolean)
    .join('\n\n');
}
