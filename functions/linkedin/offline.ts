import type { OfflineGenerator } from '../ai/providers/offlineProvider';
import { foldText } from '../platform/text';
import { LINKEDIN_POST_TASK, MAX_HASHTAGS, postVariablesSchema } from './drafts';
import {
  LINKEDIN_REPLY_TASK,
  LINKEDIN_TRIAGE_TASK,
  replyVariablesSchema,
  triageVariablesSchema,
  type ReplyVariables,
  type Triage,
} from './inbox';
import { detectLanguage } from '../platform/language';

/**
 * LinkedIn's offline answers: with no AI key, items are still triaged (by keywords) and given a short
 * reply in their language, and a post can be drafted, deterministically, in French or English.
 */
export const LINKEDIN_OFFLINE_GENERATORS: Readonly<Record<string, OfflineGenerator>> = {
  [LINKEDIN_TRIAGE_TASK]: (variables) => JSON.stringify(offlineTriage(variables)),
  [LINKEDIN_REPLY_TASK]: (variables) => JSON.stringify({ reply: offlineReply(variables) }),
  [LINKEDIN_POST_TASK]: (variables) => JSON.stringify({ text: offlinePost(variables) }),
};

// --- triage ---------------------------------------------------------------------------------------

type Category = Triage['category'];

/**
 * Word beginnings (accents folded) that point to a category, French and English; each counts once.
 * Tie order: the first category listed wins (spam before a pitch before a lead).
 */
const KEYWORDS: [Exclude<Category, 'other'>, string[]][] = [
  [
    'spam',
    [
      'crypto',
      'bitcoin',
      'forex',
      'casino',
      'lottery',
      'loterie',
      'you have won',
      'vous avez gagne',
      'gagnez',
      'make money',
      'argent facile',
      'passive income',
      'revenu passif',
      'click here',
      'cliquez ici',
      'whatsapp me',
      'telegram',
      'buy followers',
      'acheter des abonnes',
      'investment opportunity',
      'double your',
      'doublez votre',
    ],
  ],
  [
    'recruiter',
    [
      'recrut',
      'recruit',
      'hiring',
      'job offer',
      'offre d emploi',
      'poste de',
      'position',
      'role',
      'cdi',
      'cdd',
      'talent acquisition',
      'headhunt',
      'chasseur de tete',
      'candidature',
      'salary',
      'salaire',
      'your profile',
      'votre profil',
    ],
  ],
  [
    'sales_pitch',
    [
      'our agency',
      'notre agence',
      'we help',
      'nous aidons',
      'lead generation',
      'generation de leads',
      'book a call',
      'quick call',
      'appel rapide',
      '15 minutes',
      'outsourc',
      'externalis',
      'grow your',
      'boost',
      'seo',
      'our services',
      'nos services',
      'our solution',
      'notre solution',
      'free audit',
      'audit gratuit',
      'partnership',
      'partenariat',
    ],
  ],
  [
    'lead',
    [
      'devis',
      'quote',
      'pricing',
      'price',
      'tarif',
      'prix',
      'budget',
      'proposal',
      'work with you',
      'travailler avec vous',
      'collaborer',
      'your services',
      'vos services',
      'vos offres',
      'accompagnement',
      'accompagner',
      'mission',
      'project',
      'projet',
      'we need',
      'nous avons besoin',
      'interested in working',
      'interesse par',
      'interessee par',
      'hire you',
      'rendez-vous',
    ],
  ],
  [
    'customer_question',
    [
      'question',
      'how do',
      'how can',
      'comment faire',
      'comment puis',
      'pourquoi',
      'why',
      'help',
      'aide',
      'probleme',
      'problem',
      'issue',
      'bug',
      'support',
      'commande',
      'order',
      'facture',
      'invoice',
      'refund',
      'rembours',
      'acces',
      'access',
      'can i',
      'puis-je',
      'est-ce que',
      'which tool',
      'quel outil',
    ],
  ],
];

const URGENT = ['urgent', 'asap', 'au plus vite', 'rapidement', 'today', 'aujourd hui', 'deadline'];

/** Folded, apostrophes as spaces, one space between words: the form keywords are looked for in. */
function searchable(text: string): string {
  return ` ${foldText(text)
    .replace(/['’`]/g, ' ')
    .replace(/[^a-z0-9-]+/g, ' ')} `;
}

const hits = (text: string, keywords: readonly string[]) =>
  keywords.filter((keyword) => text.includes(` ${keyword}`)).length;

/**
 * The category with the most keyword evidence; a question with none is a customer question, anything
 * else `other`. Leads and urgent questions come first; pitches, spam and short praise last.
 */
export function offlineTriage(variables: Readonly<Record<string, unknown>>): Triage {
  const { text } = triageVariablesSchema.parse(variables);
  const words = searchable(text);
  const ranked = KEYWORDS.map(([category, keywords]) => [category, hits(words, keywords)] as const).sort(
    (a, b) => b[1] - a[1],
  );
  const [best, score] = ranked[0] ?? ['customer_question', 0];
  const category: Category = score > 0 ? best : text.includes('?') ? 'customer_question' : 'other';
  const urgent = hits(words, URGENT) > 0;
  const priority: Triage['priority'] =
    category === 'lead' || (category === 'customer_question' && urgent)
      ? 'high'
      : category === 'spam' || category === 'sales_pitch' || (category === 'other' && text.length < 120)
        ? 'low'
        : 'normal';
  return { priority, category, language: detectLanguage(text) };
}

// --- reply ----------------------------------------------------------------------------------------

/** The sender's first name when `from` looks like a name (not a URN, not an address). */
function firstName(from: string): string {
  if (/^urn:|@|\d/.test(from.trim())) return '';
  const first = from.trim().split(/\s+/)[0] ?? '';
  return /^[\p{L}'’-]{2,30}$/u.test(first) ? first.charAt(0).toUpperCase() + first.slice(1) : '';
}

type Wording = Record<Exclude<Category, 'spam'>, string>;

/** A comment's reply after the thanks: short, public, it moves anything personal to a private message. */
const COMMENT: Record<'fr' | 'en', Wording> = {
  fr: {
    lead: 'Ravi que le sujet vous intéresse : je vous écris en message privé pour en parler plus en détail.',
    customer_question:
      'Bonne question : je vous réponds en message privé pour vous donner une réponse précise.',
    recruiter: 'Je vous réponds en message privé.',
    sales_pitch: "Ce n'est pas un besoin pour moi en ce moment.",
    other: 'Ça me fait plaisir que le post vous parle.',
  },
  en: {
    lead: "Glad this resonates: I'll send you a private message so we can talk it through.",
    customer_question: "Good question: I'll reply by private message with a precise answer.",
    recruiter: "I'll reply by private message.",
    sales_pitch: "It isn't something I need at the moment.",
    other: 'Glad the post spoke to you.',
  },
};

const MESSAGE: Record<'fr' | 'en', Wording> = {
  fr: {
    lead: "Merci pour votre message et pour l'intérêt que vous portez à mon travail. Pour bien comprendre votre besoin, pourriez-vous me préciser le contexte, le calendrier et le budget envisagés ? Je vous propose ensuite un court échange.",
    customer_question:
      'Merci pour votre question. Je regarde cela et je reviens vers vous rapidement avec une réponse précise.',
    recruiter:
      "Merci d'avoir pensé à moi. Pourriez-vous m'en dire plus sur le poste (missions, lieu, conditions) ? Je vous dirai s'il correspond à ce que je recherche.",
    sales_pitch:
      "Merci pour votre message. Ce n'est pas un besoin pour moi en ce moment ; je reviendrai vers vous si cela change.",
    other: 'Merci pour votre message. Je reviens vers vous rapidement.',
  },
  en: {
    lead: 'Thank you for your message and your interest in my work. To understand what you need, could you tell me a little about the context, the timeline and the budget you have in mind? I can then suggest a short call.',
    customer_question:
      "Thank you for your question. I'm looking into it and will get back to you shortly with a precise answer.",
    recruiter:
      "Thank you for thinking of me. Could you tell me more about the role (responsibilities, location, terms)? I'll let you know whether it matches what I'm looking for.",
    sales_pitch:
      "Thank you for your message. It isn't something I need at the moment; I'll get back to you if that changes.",
    other: "Thank you for your message. I'll get back to you shortly.",
  },
};

/** A message that follows earlier ones: it takes up the thread instead of starting over. */
const FOLLOW_UP: Record<'fr' | 'en', Wording> = {
  fr: {
    lead: 'Merci pour ces précisions. Je prépare une proposition et je reviens vers vous très vite ; seriez-vous disponible pour un court échange cette semaine ?',
    customer_question:
      'Merci pour ces précisions. Je regarde cela et je reviens vers vous rapidement avec une réponse précise.',
    recruiter:
      "Merci pour ces précisions. Je prends le temps d'y réfléchir et je reviens vers vous rapidement.",
    sales_pitch: "Merci, mais ma réponse reste la même : ce n'est pas un besoin pour moi en ce moment.",
    other: 'Merci pour votre retour. Je reviens vers vous rapidement.',
  },
  en: {
    lead: "Thank you for the details. I'm preparing a proposal and will come back to you very soon; would you have time for a short call this week?",
    customer_question:
      "Thank you for the details. I'm looking into it and will get back to you shortly with a precise answer.",
    recruiter: "Thank you for the details. I'll think it over and get back to you shortly.",
    sales_pitch: "Thank you, but my answer is the same: it isn't something I need at the moment.",
    other: "Thank you for getting back to me. I'll reply shortly.",
  },
};

/**
 * A short, polite reply in the item's language: greeting by first name, the category's wording (taking
 * up the thread when the conversation already has items); a message gets a closing line too.
 */
export function offlineReply(variables: Readonly<Record<string, unknown>>): string {
  const input: ReplyVariables = replyVariablesSchema.parse(variables);
  const language = input.language === 'fr' ? 'fr' : 'en';
  const category = input.category === 'spam' ? 'other' : input.category;
  const name = firstName(input.from);
  const followUp = input.conversation.length > 0;
  if (input.kind === 'comment') {
    const opener =
      language === 'fr'
        ? `${followUp ? `Merci de revenir vers moi${name ? `, ${name}` : ''}` : `Merci${name ? ` ${name}` : ''}`} !`
        : `${followUp ? 'Thanks for coming back to me' : 'Thank you'}${name ? `, ${name}` : ''}!`;
    return `${opener} ${COMMENT[language][category]}`.slice(0, input.maxChars);
  }
  const greeting =
    language === 'fr' ? `Bonjour${name ? ` ${name}` : ''},` : `Hello${name ? ` ${name}` : ''},`;
  const closing = language === 'fr' ? 'Bien cordialement' : 'Best regards';
  return [greeting, (followUp ? FOLLOW_UP : MESSAGE)[language][category], closing]
    .join('\n\n')
    .slice(0, input.maxChars);
}

// --- post -----------------------------------------------------------------------------------------

const STOP = new Set([
  ...'le la les des du de et pour dans avec sur une un aux au en par est sont vos nos votre notre ce cette ses son sa leur leurs comment pourquoi quoi'.split(
    ' ',
  ),
  ...'the and for with into from your our this that how why what about their its are is'.split(' '),
]);

/** Up to `max` hashtags from the topic's longest words (folded, no accents). */
function hashtags(topic: string, max: number): string[] {
  const words = foldText(topic)
    .replace(/['’]/g, ' ')
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length >= 3 && !STOP.has(word));
  return [...new Set(words)].slice(0, max).map((word) => `#${word}`);
}

const TONES = {
  fr: {
    friendly: (t: string) => `On parle de ${t} ? Voici ce que j'en retiens, simplement.`,
    enthusiastic: (t: string) => `${capitalise(t)} : je suis convaincu que c'est le moment d'y aller !`,
    inspiring: (t: string) => `Et si ${t} changeait notre façon de travailler ?`,
    professional: (t: string) => `${capitalise(t)} : trois enseignements tirés du terrain.`,
  },
  en: {
    friendly: (t: string) => `Let's talk about ${t}. Here is what I've learned, plainly.`,
    enthusiastic: (t: string) => `${capitalise(t)}: I'm convinced now is the time to go for it!`,
    inspiring: (t: string) => `What if ${t} changed the way we work?`,
    professional: (t: string) => `${capitalise(t)}: three lessons from the field.`,
  },
} as const;

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A short post: a hook in the tone asked for, three lessons, a question to the reader, ≤ 3 hashtags. */
export function offlinePost(variables: Readonly<Record<string, unknown>>): string {
  const input = postVariablesSchema.parse(variables);
  const language = input.language === 'fr' ? 'fr' : 'en';
  const topic = input.topic.trim().replace(/[.!?]+$/, '');
  const tone = foldText(input.tone);
  const hooks = TONES[language];
  const hook = /friend|amic|casual|decontract/.test(tone)
    ? hooks.friendly(topic)
    : /enthous|enthus|energ|dynam/.test(tone)
      ? hooks.enthusiastic(topic)
      : /inspir|vision/.test(tone)
        ? hooks.inspiring(topic)
        : hooks.professional(topic);
  const body =
    language === 'fr'
      ? [
          '1. Commencer petit : un premier résultat concret vaut mieux qu’un grand plan.',
          '2. Mesurer : sans chiffres, impossible de savoir ce qui marche vraiment.',
          '3. Partager : les retours des autres font gagner un temps précieux.',
          `Et vous, quelle est votre expérience avec ${topic} ?`,
        ]
      : [
          '1. Start small: one concrete result beats a grand plan.',
          '2. Measure: without figures there is no knowing what really works.',
          '3. Share: other people’s feedback saves precious time.',
          `What is your experience with ${topic}?`,
        ];
  const tags = hashtags(topic, Math.min(MAX_HASHTAGS, input.maxHashtags)).join(' ');
  return [hook, body.slice(0, 3).join('\n'), body[3], tags]
    .filter(Boolean)
    .join('\n\n')
    .slice(0, input.maxChars);
}
