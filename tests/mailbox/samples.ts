import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMail, type ParsedMail } from '../../functions/mailbox/message';

export const SAMPLES = path.resolve(__dirname, '../../samples/mailbox');
export const SAMPLE_KNOWLEDGE = path.resolve(__dirname, '../../samples/mailbox-knowledge');

/** The sample school's mailbox identity (the address the sample mails are sent to). */
export const US = {
  address: 'contact@institut-horizon.example',
  domain: 'institut-horizon.example',
  ourMessageIdDomain: 'institut-horizon.example',
};

export function sampleBytes(name: string): Buffer {
  return readFileSync(path.join(SAMPLES, name));
}

export function sample(name: string): Promise<ParsedMail> {
  return parseMail(sampleBytes(name));
}

/** A mail built from header lines and a body, with CRLF line ends as on the wire. */
export function rawMail(headers: string[], body = 'Bonjour,\n\nQuels sont vos horaires ?\n'): Buffer {
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body.replace(/\n/g, '\r\n')}`, 'utf8');
}

/** A plain request from a person to the school, with extra header lines. */
export function requestWith(...extra: string[]): Promise<ParsedMail> {
  return parseMail(
    rawMail([
      'From: Marie Curie <marie.curie@example.org>',
      `To: ${US.address}`,
      'Subject: Horaires',
      'Message-ID: <abc123@example.org>',
      ...extra,
    ]),
  );
}
