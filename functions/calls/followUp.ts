import type { Claim, StoredPolicy } from './insurer';

export const FOLLOW_UP_KINDS = ['claim-confirmation', 'policy-summary', 'callback-confirmation'] as const;
export type FollowUpKind = (typeof FOLLOW_UP_KINDS)[number];

export interface FollowUpFacts {
  policy: StoredPolicy;
  claim: Claim | undefined;
  callbackAt: string | undefined;
  language: 'fr' | 'en';
  /** The insurer's time zone, for the callback time. */
  timeZone: string;
}

function when(iso: string, language: 'fr' | 'en', timeZone: string): string {
  return new Intl.DateTimeFormat(language === 'fr' ? 'fr-FR' : 'en-GB', {
    dateStyle: 'full',
    timeStyle: 'short',
    timeZone,
  }).format(new Date(iso));
}

/**
 * The follow-up email the agent offers at the end of a call: plain text, written from the stored policy
 * and claim (never from what the caller said), in the caller's language.
 */
export function followUpEmail(kind: FollowUpKind, facts: FollowUpFacts): { subject: string; text: string } {
  const { policy, claim, language } = facts;
  const fr = language === 'fr';
  const greeting = fr ? `Bonjour ${policy.holderName},` : `Dear ${policy.holderName},`;
  const closing = fr
    ? 'Cordialement,\nVotre service clients\n\nCe message fait suite à votre appel ; merci de ne pas y répondre.'
    : 'Kind regards,\nYour customer service\n\nThis message follows your call; please do not reply to it.';
  let subject: string;
  let body: string[];
  switch (kind) {
    case 'claim-confirmation':
      subject = fr
        ? `Déclaration de sinistre ${claim?.claimNumber ?? ''}`
        : `Claim ${claim?.claimNumber ?? ''}`;
      body = fr
        ? [
            `Nous avons bien enregistré votre déclaration de sinistre sur le contrat ${policy.policyNumber}.`,
            `Numéro de sinistre : ${claim?.claimNumber ?? ''}`,
            `Date du sinistre : ${claim?.dateOfLoss ?? ''}`,
            `Nature : ${claim?.lossType ?? ''}`,
            'Un gestionnaire vous contactera sous 48 heures ouvrées. Rappelez ce numéro dans vos échanges.',
          ]
        : [
            `We have recorded your claim on policy ${policy.policyNumber}.`,
            `Claim number: ${claim?.claimNumber ?? ''}`,
            `Date of loss: ${claim?.dateOfLoss ?? ''}`,
            `Type: ${claim?.lossType ?? ''}`,
            'A claims handler will contact you within two working days. Please quote this number.',
          ];
      break;
    case 'policy-summary':
      subject = fr ? `Votre contrat ${policy.policyNumber}` : `Your policy ${policy.policyNumber}`;
      body = fr
        ? [
            `Voici le résumé de votre contrat ${policy.policyNumber} (${policy.product}) :`,
            `Garanties : ${policy.coverage}`,
            `Cotisation annuelle : ${policy.premium.toFixed(2).replace('.', ',')} €`,
            `Échéance : ${policy.renewalDate}`,
          ]
        : [
            `Here is the summary of your policy ${policy.policyNumber} (${policy.product}):`,
            `Coverage: ${policy.coverage}`,
            `Annual premium: €${policy.premium.toFixed(2)}`,
            `Renewal date: ${policy.renewalDate}`,
          ];
      break;
    case 'callback-confirmation': {
      const at = facts.callbackAt ? when(facts.callbackAt, language, facts.timeZone) : '';
      subject = fr ? 'Confirmation de votre rappel' : 'Your callback is booked';
      body = fr
        ? [`Un conseiller vous rappellera le ${at}, au sujet de votre contrat ${policy.policyNumber}.`]
        : [`An adviser will call you back on ${at} about your policy ${policy.policyNumber}.`];
      break;
    }
  }
  return { subject, text: [greeting, '', ...body, '', closing].join('\n') };
}

/** `c•••@example.org`: enough for a caller to recognise their address, not enough to read it out. */
export function maskEmail(address: string): string {
  const [local = '', domain = ''] = address.split('@');
  return `${local.slice(0, 1)}•••@${domain}`;
}
