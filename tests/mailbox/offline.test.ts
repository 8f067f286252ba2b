import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { offlineProvider } from '../../functions/ai/providers/offlineProvider';
import { TemplateLibrary } from '../../functions/ai/templates';
import { OFFLINE_GENERATORS } from '../../functions/app/ai';
import {
  classifyVariables,
  MAILBOX_CLASSIFY_TASK,
  MalformedAnswerError,
  parseClassification,
} from '../../functions/mailbox/classification';
import { findUngrounded } from '../../functions/mailbox/grounding';
import {
  parseKnowledgeDocument,
  selectDocuments,
  type Category,
  type KnowledgeDocument,
  type MailLanguage,
} from '../../functions/mailbox/knowledge';
import type { ParsedMail } from '../../functions/mailbox/message';
import {
  detectLanguage,
  MAILBOX_OFFLINE_GENERATORS,
  offlineClassify,
  offlineReply,
} from '../../functions/mailbox/offline';
import { MAILBOX_REPLY_TASK, replyVariables } from '../../functions/mailbox/reply';
import { aiTestClient } from '../support/aiTestClient';
import { requestWith, sample, SAMPLE_KNOWLEDGE } from './samples';

const KNOWLEDGE: KnowledgeDocument[] = readdirSync(SAMPLE_KNOWLEDGE).map((name) => {
  const parsed = parseKnowledgeDocument(name, readFileSync(path.join(SAMPLE_KNOWLEDGE, name), 'utf8'));
  if (!('document' in parsed)) throw new Error(parsed.problem);
  return parsed.document;
});

/** What the flow does with a mail, offline: classify, pick the documents, answer. */
function answer(mail: ParsedMail) {
  const classification = offlineClassify(classifyVariables(mail));
  if (classification.category === 'ignore') return { classification, text: undefined, documents: [] };
  const category: Category = classification.category;
  const documents = selectDocuments(KNOWLEDGE, category, 3000, classification.language);
  const text = offlineReply(replyVariables({ mail, category, language: classification.language, documents }));
  return { classification, text, documents };
}

const ungrounded = (mail: ParsedMail, text: string, documents: KnowledgeDocument[]) =>
  findUngrounded(text, [mail.subject, mail.text, ...documents.map((d) => d.body)]);

describe('offline mailbox generators', () => {
  it('answers a French timetable request with the real hours of the sample knowledge base', async () => {
    const mail = await sample('horaires-fr.eml');
    const { classification, text = '', documents } = answer(mail);
    expect(classification).toMatchObject({ category: 'horaires', language: 'fr' });
    expect(classification.confidence).toBeGreaterThanOrEqual(0.7);
    expect(text).toMatch(/^Bonjour Léa Martin,\n\nMerci pour votre message\. Voici nos horaires/);
    expect(text).toContain("Horaires d'ouverture de l'accueil :\n- Du lundi au vendredi : de 8h30 à 18h00");
    expect(text).toContain('BTS : rentrée le lundi 14 septembre 2026 à 9h00');
    expect(text).toMatch(/Bien cordialement,\nL'accueil de l'Institut Horizon$/);
    expect(ungrounded(mail, text, documents)).toEqual([]);
  });

  it('answers an English programme request in English, from the English documents only', async () => {
    const mail = await sample('programme-en.eml');
    const { classification, text = '', documents } = answer(mail);
    expect(classification).toMatchObject({ category: 'programme', language: 'en' });
    expect(documents.map((d) => d.name)).toEqual(['programmes-en.md']);
    expect(text).toMatch(/^Dear James Carter,\n\nThank you for your interest in our programmes\./);
    expect(text).toContain('Bachelor in Web and Mobile Development:\n- Length: 3 years');
    expect(text).toContain('Tuition: €6,900 per year');
    expect(text).not.toContain('Frais');
    expect(text).toMatch(/Kind regards,\nAdmissions office\nInstitut Horizon$/);
    expect(ungrounded(mail, text, documents)).toEqual([]);
  });

  it('answers an application question (Latin-1 mail) with the steps, deadlines and documents', async () => {
    const mail = await sample('inscription-latin1.eml');
    const { classification, text = '', documents } = answer(mail);
    expect(classification).toMatchObject({ category: 'inscription', language: 'fr' });
    expect(text).toMatch(/^Bonjour René Lefèvre,/);
    expect(text).toContain('Pièces à fournir :');
    expect(text).toContain('Date limite pour le Bachelor et le Mastère : mercredi 31 mars 2027');
    expect(ungrounded(mail, text, documents)).toEqual([]);
  });

  it('answers an HTML-only housing question from the student life document', async () => {
    const mail = await sample('html-only.eml');
    const { classification, text = '' } = answer(mail);
    expect(classification.category).toBe('autre');
    expect(text).toContain('Logement :');
    expect(text).toContain("L'école n'a pas de résidence");
  });

  it('classifies advertising as ignore', async () => {
    const { classification, text } = answer(await sample('publicite.eml'));
    expect(classification.category).toBe('ignore');
    expect(text).toBeUndefined();
  });

  it('is unsure of a mail with no evidence, so a person sees it, and says a person will answer', async () => {
    const mail = await requestWith();
    const vague = { ...mail, subject: 'Question', text: 'Bonjour, pouvez-vous me rappeler demain ? Merci.' };
    const { classification, text = '' } = answer(vague);
    expect(classification).toEqual({
      category: 'autre',
      confidence: 0.3,
      language: 'fr',
      summary: 'Pouvez-vous me rappeler demain ?',
    });
    expect(text).toContain('une personne de notre équipe vous répondra personnellement');
  });

  it('lowers the confidence when two categories have the same evidence', async () => {
    const mail = await requestWith();
    const mixed = { ...mail, subject: 'Question', text: 'Quels sont les horaires et le programme du BTS ?' };
    const { classification } = answer(mixed);
    expect(classification.confidence).toBeLessThan(0.7);
  });

  it('writes the same answer for the same mail', async () => {
    const mail = await sample('horaires-fr.eml');
    expect(answer(mail).text).toBe(answer(mail).text);
  });

  it('detects French and English', () => {
    expect(detectLanguage('Bonjour, quels sont vos horaires ?')).toBe('fr');
    expect(detectLanguage('Hello, what are your opening hours?')).toBe('en');
    expect(detectLanguage('Rentrée')).toBe('fr');
  });

  it('refuses variables that are not the task’s, naming the field', () => {
    expect(() => offlineClassify({ subject: 'x', text: 1, from: '' })).toThrow(/text/);
    expect(() => offlineReply({ subject: 'x' })).toThrow(/text/);
  });

  it('runs both tasks through the AI client with the real prompt templates', async () => {
    expect(OFFLINE_GENERATORS).toMatchObject(MAILBOX_OFFLINE_GENERATORS);
    const { client } = aiTestClient([offlineProvider(MAILBOX_OFFLINE_GENERATORS)], {
      templates: new TemplateLibrary(path.resolve(__dirname, '../../prompts')),
    });
    const mail = await sample('horaires-fr.eml');
    const classified = await client.complete({
      task: MAILBOX_CLASSIFY_TASK,
      variables: classifyVariables(mail),
    });
    const classification = parseClassification(classified.text);
    expect(classification.category).toBe('horaires');
    const category = classification.category as Category;
    const language: MailLanguage = classification.language;
    const documents = selectDocuments(KNOWLEDGE, category, 3000, language);
    const reply = await client.complete({
      task: MAILBOX_REPLY_TASK,
      variables: replyVariables({ mail, category, language, documents }),
    });
    expect(reply.text).toContain('de 8h30 à 18h00');
  });
});

describe('parseClassification', () => {
  it('reads the JSON bare, in a ``` fence, or with prose around it', () => {
    const json =
      '{"category": "horaires", "confidence": 0.92, "language": "fr", "summary": "Demande les horaires."}';
    const expected = {
      category: 'horaires',
      confidence: 0.92,
      language: 'fr',
      summary: 'Demande les horaires.',
    };
    expect(parseClassification(json)).toEqual(expected);
    expect(parseClassification(`\`\`\`json\n${json}\n\`\`\``)).toEqual(expected);
    expect(parseClassification(`Voici ma réponse :\n${json}\nJ'espère que cela aide.`)).toEqual(expected);
    expect(parseClassification('{"category": "Programme", "confidence": "0.8", "language": "EN"}')).toEqual({
      category: 'programme',
      confidence: 0.8,
      language: 'en',
      summary: '',
    });
  });

  it('says clearly what is wrong with an answer it cannot use', () => {
    expect(() => parseClassification('I think it is about timetables.')).toThrow(MalformedAnswerError);
    expect(() => parseClassification('I think it is about timetables.')).toThrow(
      'The mailbox-classify answer holds no JSON object: "I think it is about timetables."',
    );
    expect(() => parseClassification('{"category": horaires}')).toThrow(/is not valid JSON/);
    expect(() => parseClassification('{"category": "tarifs", "confidence": 1.4, "language": "fr"}')).toThrow(
      /does not have the expected fields: category: .*; confidence: /,
    );
  });
});
