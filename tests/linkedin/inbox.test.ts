import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  InvalidInputError,
  UnauthenticatedError,
  UnavailableError,
} from '../../functions/platform/errors';
import {
  challengeResponse,
  commentNotification,
  signNotification,
  startLinkedInServer,
  type LinkedInServer,
} from '../../local/servers/linkedinServer';
import { CLIENT, linkedinFixture, ORG } from './support';

let server: LinkedInServer;

beforeAll(async () => {
  server = await startLinkedInServer(CLIENT);
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(() => server.clearFaults());

const commentsOn = (urn: string | undefined) => server.comments.filter((c) => c.postUrn === urn);
const commentCalls = () => server.requests.filter((r) => r.route === 'comment').length;

describe('LinkedIn inbox', () => {
  it('classifies and drafts a pasted comment, and approving publishes exactly one comment', async () => {
    const f = linkedinFixture(server);
    const account = await f.connect();
    const post = await f.publishedPost(account, 'Nos ateliers data pour les PME');

    const item = await f.inboxUseCases.addItem({
      kind: 'comment',
      from: 'Jeanne Martin',
      text: 'Super article ! Combien coûte un accompagnement pour notre projet ?',
      postUrn: post.urn,
    });
    expect(item).toMatchObject({ status: 'drafted', category: 'lead', priority: 'high', language: 'fr' });
    expect(item.draft).toContain('Jeanne');
    expect(item.draft).toMatch(/message privé/);
    // Drafted only: nothing reached LinkedIn before approval.
    expect(commentsOn(post.urn)).toHaveLength(0);

    // A double click: two approvals at once still make one comment.
    await Promise.all([f.inboxUseCases.approve(item.id), f.inboxUseCases.approve(item.id)]);
    const sent = await f.inboxUseCases.getItem(item.id);
    expect(sent).toMatchObject({ status: 'sent', reply: item.draft });
    expect(sent.replyUrn).toMatch(new RegExp(`^urn:li:comment:\\(${post.urn ?? ''},\\d+\\)$`));
    const comments = commentsOn(post.urn);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toMatchObject({ actor: account.urn, text: item.draft });

    // Approving again later sends nothing more.
    expect(await f.inboxUseCases.approve(item.id, { text: 'Autre chose' })).toMatchObject({ status: 'sent' });
    expect(commentsOn(post.urn)).toHaveLength(1);
  });

  it('publishes the edited text when the person changes the draft', async () => {
    const f = linkedinFixture(server);
    const account = await f.connect();
    const post = await f.publishedPost(account, 'Five lessons from our first year');
    const item = await f.inboxUseCases.addItem({
      kind: 'comment',
      from: 'Alex Brown',
      text: 'Great post, thank you for sharing!',
      postUrn: `https://www.linkedin.com/feed/update/${post.urn ?? ''}/`,
    });
    expect(item).toMatchObject({ status: 'drafted', postUrn: post.urn, language: 'en', priority: 'low' });
    const edited = 'Thanks Alex, glad it was useful!';
    expect(await f.inboxUseCases.approve(item.id, { text: edited })).toMatchObject({
      status: 'sent',
      reply: edited,
    });
    expect(commentsOn(post.urn).map((c) => c.text)).toEqual([edited]);
  });

  it('marks a comment whose create answered 500 unconfirmed and never sends it again', async () => {
    const f = linkedinFixture(server);
    const account = await f.connect();
    const post = await f.publishedPost(account, 'Le télétravail, trois ans après');
    const item = await f.inboxUseCases.addItem({
      kind: 'comment',
      from: 'Paul Durand',
      text: 'Comment faire pour convaincre sa direction ?',
      postUrn: post.urn,
    });
    // LinkedIn creates the comment, then answers 500: the app cannot know it worked.
    server.fault('comment', { status: 500, performed: true });
    const unconfirmed = await f.inboxUseCases.approve(item.id);
    expect(unconfirmed.status).toBe('unconfirmed');
    expect(unconfirmed.reason).toMatch(/check the post's comments/);
    expect(commentsOn(post.urn)).toHaveLength(1);

    const calls = commentCalls();
    // The same step again (a redelivered activity) and a second approval: no second comment.
    expect(await f.inboxUseCases.sendReply(item.id, 1)).toMatchObject({ status: 'unconfirmed' });
    await expect(f.inboxUseCases.approve(item.id)).rejects.toBeInstanceOf(ConflictError);
    expect(commentCalls()).toBe(calls);
    expect(commentsOn(post.urn)).toHaveLength(1);

    // The person checked LinkedIn and closes it.
    expect(await f.inboxUseCases.reject(item.id)).toMatchObject({ status: 'rejected' });
  });

  it('never comments twice after a crash during the send, and finishes a claim that never started', async () => {
    const f = linkedinFixture(server);
    const account = await f.connect();
    const post = await f.publishedPost(account, 'Pourquoi nous avons changé de CRM');
    const started = await f.inboxUseCases.addItem({
      kind: 'comment',
      from: 'Nora Petit',
      text: 'Quel outil avez-vous choisi ?',
      postUrn: post.urn,
    });
    const claimedOnly = await f.inboxUseCases.addItem({
      kind: 'comment',
      from: 'Hugo Blanc',
      text: 'Pourquoi pas Salesforce ?',
      postUrn: post.urn,
    });
    // What a crash leaves: the first was claimed and its call started; the second only claimed.
    const approvedAt = f.clock.now().toISOString();
    for (const [id, startedCall] of [
      [started.id, true],
      [claimedOnly.id, false],
    ] as const)
      await f.inbox.mutate(id, (i) => ({
        ...i,
        status: 'sending',
        attempt: 1,
        accountId: account.id,
        reply: i.draft,
        approvedAt,
        updatedAt: approvedAt,
        ...(startedCall ? { sendStartedAttempt: 1 } : {}),
      }));

    // While a send may still be running, a second approval waits.
    await expect(f.inboxUseCases.approve(started.id)).rejects.toThrow('is being sent');
    f.clock.advance(5 * 60_000);
    const calls = commentCalls();
    expect(await f.inboxUseCases.approve(started.id)).toMatchObject({ status: 'unconfirmed' });
    expect(commentCalls()).toBe(calls);

    expect(await f.inboxUseCases.approve(claimedOnly.id)).toMatchObject({ status: 'sent' });
    expect(commentsOn(post.urn).map((c) => c.text)).toEqual([claimedOnly.draft]);
  });

  it('makes a message reply ready to send by hand and sends nothing', async () => {
    const f = linkedinFixture(server);
    await f.connect();
    const before = server.requests.length;
    const item = await f.inboxUseCases.addItem({
      kind: 'message',
      from: 'John Smith',
      text: "Hi, we'd like a quote for a data workshop for my team next month. What are your prices?",
    });
    expect(item).toMatchObject({ status: 'drafted', category: 'lead', priority: 'high', language: 'en' });
    expect(item.draft).toMatch(/^Hello John,/);

    const edited = `${item.draft ?? ''}\nP.S. I am free on Thursday.`;
    const ready = await f.inboxUseCases.approve(item.id, { text: edited });
    expect(ready).toMatchObject({ status: 'ready-to-send', reply: edited });
    expect(ready.reason).toMatch(/cannot send messages/);
    expect(server.requests.length).toBe(before);
  });

  it('leaves a reply to a comment on a post the app did not publish to the person', async () => {
    const f = linkedinFixture(server);
    await f.connect();
    const elsewhere = server.addPost({ commentary: `Un post publié à la main ${Date.now()}` });
    const item = await f.inboxUseCases.addItem({
      kind: 'comment',
      from: 'Claire Roux',
      text: 'Très juste, merci pour ce partage.',
      postUrn: elsewhere.urn,
    });
    expect(await f.inboxUseCases.approve(item.id)).toMatchObject({ status: 'ready-to-send' });
    expect(commentsOn(elsewhere.urn)).toHaveLength(0);
  });

  it('drafts a follow-up with the conversation so far', async () => {
    const f = linkedinFixture(server);
    const first = await f.inboxUseCases.addItem({
      kind: 'message',
      from: 'Sophie Lambert',
      text: 'Bonjour, nous avons un projet de formation pour nos équipes, pouvez-vous nous faire un devis ?',
      receivedAt: new Date(f.clock.now().getTime() - 3_600_000).toISOString(),
    });
    expect(first.draft).toMatch(/pourriez-vous me préciser le contexte/);
    const second = await f.inboxUseCases.addItem({
      kind: 'message',
      from: 'sophie  LAMBERT',
      text: 'Le budget est de 5 000 euros, pour une vingtaine de personnes en mars.',
    });
    expect(second).toMatchObject({ status: 'drafted', language: 'fr' });
    expect(second.draft).toMatch(
      /^Bonjour Sophie,\n\nMerci pour ces précisions\. Je prépare une proposition/,
    );
  });

  it('ignores spam without drafting, and lists by status and priority', async () => {
    const f = linkedinFixture(server);
    const spam = await f.inboxUseCases.addItem({
      kind: 'message',
      from: 'Crypto King',
      text: 'Gagnez 5000 € par jour avec le bitcoin ! Cliquez ici : bit.ly/xyz',
    });
    expect(spam).toMatchObject({ status: 'ignored', category: 'spam', priority: 'low' });
    expect(spam.draft).toBeUndefined();
    const question = await f.inboxUseCases.addItem({
      kind: 'message',
      from: 'Marc Henry',
      text: "Bonjour, j'ai un problème urgent d'accès à la formation en ligne, pouvez-vous m'aider ?",
    });
    expect(question).toMatchObject({ status: 'drafted', category: 'customer_question', priority: 'high' });

    const ids = async (query: { status?: string; priority?: string }) =>
      (await f.inboxUseCases.listItems(query)).map((i) => i.id);
    expect(await ids({ status: 'ignored' })).toEqual([spam.id]);
    expect(await ids({ status: 'drafted' })).toEqual([question.id]);
    expect(await ids({ priority: 'high' })).toEqual([question.id]);
    expect(await ids({})).toEqual([question.id, spam.id]);
    await expect(f.inboxUseCases.listItems({ status: 'done' })).rejects.toThrow('status: must be one of');
  });

  it('names the field of a bad item', async () => {
    const f = linkedinFixture(server);
    const add = (body: unknown) => f.inboxUseCases.addItem(body);
    await expect(add({ kind: 'message', from: 'A', text: '  ' })).rejects.toThrow(
      'body.text: must not be empty',
    );
    await expect(add({ kind: 'letter', from: 'A', text: 'x' })).rejects.toThrow('body.kind');
    await expect(add({ kind: 'message', from: 'A', text: 'x', postUrn: 'urn:li:share:1' })).rejects.toThrow(
      'body.postUrn: is for comments only',
    );
    await expect(add({ kind: 'comment', from: 'A', text: 'x', postUrn: 'not a post' })).rejects.toThrow(
      'body.postUrn: must be a post URN',
    );
    await expect(add({ kind: 'comment', from: 'A', text: 'x'.repeat(1300) })).rejects.toThrow(
      "body.text: is longer than 1250 characters (LinkedIn's limit for a comment)",
    );
    await expect(add({ kind: 'message', from: 'A', text: 'x', extra: 1 })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(f.inboxUseCases.getItem('../etc')).rejects.toThrow('No LinkedIn inbox item');
  });
});

describe('LinkedIn organization webhook', () => {
  const send = (f: ReturnType<typeof linkedinFixture>, body: string, signature: string | undefined) =>
    f.inboxUseCases.receiveNotification(body, signature);

  it('turns a signed comment notification into one drafted item, however often it is delivered', async () => {
    const f = linkedinFixture(server, { LINKEDIN_ORG_URN: ORG });
    const account = await f.connect();
    const pagePost = server.addPost({ commentary: `Nous recrutons ! ${Date.now()}` });
    const payload = commentNotification({
      organization: ORG,
      postUrn: pagePost.urn,
      commenter: 'urn:li:person:commenter42',
      text: 'Bonjour, quels sont vos tarifs pour une formation sur mesure ?',
    });
    const body = JSON.stringify(payload);
    const signature = signNotification(body, CLIENT.clientSecret);

    expect(await send(f, body, signature)).toEqual({ received: 1, added: 1, duplicates: 0, skipped: 0 });
    // LinkedIn retries for hours: the same notificationId adds nothing, even with the prefixed header.
    expect(await send(f, body, `hmacsha256=${signature}`)).toMatchObject({ added: 0, duplicates: 1 });
    const items = await f.inboxUseCases.listItems();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      id: `notification-${payload.notifications[0]?.notificationId ?? ''}`,
      kind: 'comment',
      source: 'webhook',
      from: 'urn:li:person:commenter42',
      postUrn: pagePost.urn,
      status: 'drafted',
      category: 'lead',
    });
    expect(items[0]?.draft).not.toContain('urn:li');

    // The page's post: the approved reply is published as a comment under it.
    const sent = await f.inboxUseCases.approve(items[0]?.id ?? '');
    expect(sent.status).toBe('sent');
    expect(commentsOn(pagePost.urn)).toEqual([expect.objectContaining({ actor: account.urn })]);
  });

  it('refuses a missing, wrong or altered signature with 401', async () => {
    const f = linkedinFixture(server, { LINKEDIN_ORG_URN: ORG });
    const body = JSON.stringify(
      commentNotification({
        organization: ORG,
        postUrn: 'urn:li:share:1',
        commenter: 'urn:li:person:x',
        text: 'Hi',
      }),
    );
    const good = signNotification(body, CLIENT.clientSecret);
    const refused = [
      send(f, body, undefined),
      send(f, body, signNotification(body, 'another-secret')),
      send(f, body.replace('Hi', 'Hello'), good),
      send(f, body, good.slice(0, 40)),
    ];
    for (const attempt of refused) {
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnauthenticatedError);
      expect((error as UnauthenticatedError).status).toBe(401);
    }
    expect(await f.inboxUseCases.listItems()).toEqual([]);
  });

  it('answers LinkedIn’s challenge and skips what is not a comment on the page', async () => {
    const f = linkedinFixture(server, { LINKEDIN_ORG_URN: ORG });
    const code = '8a1d5f7e-6c3b-4b6e-9a10-0f9f0c2d7e11';
    expect(f.inboxUseCases.handleChallenge(code)).toEqual({
      challengeCode: code,
      challengeResponse: challengeResponse(code, CLIENT.clientSecret),
    });
    expect(() => f.inboxUseCases.handleChallenge('')).toThrow('challengeCode');

    const other = commentNotification({
      organization: 'urn:li:organization:999',
      postUrn: 'urn:li:share:2',
      commenter: 'urn:li:person:y',
      text: 'Bonjour',
    });
    const like = commentNotification({
      organization: ORG,
      postUrn: 'urn:li:share:3',
      commenter: 'urn:li:person:z',
      text: 'x',
    });
    const likeNotification = { ...like.notifications[0], action: 'LIKE' };
    const body = JSON.stringify({ ...other, notifications: [...other.notifications, likeNotification] });
    expect(await send(f, body, signNotification(body, CLIENT.clientSecret))).toEqual({
      received: 2,
      added: 0,
      duplicates: 0,
      skipped: 2,
    });
  });

  it('is off without LINKEDIN_ORG_URN', async () => {
    const f = linkedinFixture(server);
    const body = '{"notifications":[]}';
    await expect(send(f, body, signNotification(body, CLIENT.clientSecret))).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(() => f.inboxUseCases.handleChallenge('abc')).toThrow('LINKEDIN_ORG_URN');
  });
});
