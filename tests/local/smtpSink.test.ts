import { once } from 'node:events';
import { connect } from 'node:net';
import { createTransport } from 'nodemailer';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startSmtpSink, type SmtpSink } from '../../local/servers/smtpSink';

let sink: SmtpSink | undefined;
afterAll(() => sink?.close());

describe('the local SMTP sink', () => {
  it('keeps serving after a sender is killed mid-transaction (its connection reset)', async () => {
    sink = await startSmtpSink();
    const killed = connect(sink.port, sink.host);
    await once(killed, 'data'); // the greeting
    killed.write('EHLO killed.example\r\n');
    await once(killed, 'data');
    killed.write('MAIL FROM:<secretariat@ecole.example.org>\r\n');
    await once(killed, 'data');
    killed.resetAndDestroy();
    const counters = sink.counters;
    await vi.waitFor(() => expect(counters.connectionErrors).toBe(1));

    const transport = createTransport({ host: sink.host, port: sink.port, secure: false });
    await transport.sendMail({
      from: 'secretariat@ecole.example.org',
      to: 'parent@example.org',
      subject: 'Encore là',
      text: 'Bonjour',
    });
    transport.close();
    expect(sink.messages.map((m) => m.subject)).toEqual(['Encore là']);
  });
});
