import { randomBytes } from 'node:crypto';
import type { AiClient } from '../../functions/ai/aiClient';
import { createAiClient } from '../../functions/ai/createAiClient';
import { aiSettings } from '../../functions/ai/settings';
import { OFFLINE_GENERATORS } from '../../functions/app/ai';
import { linkedinApi } from '../../functions/linkedin/api';
import { createLinkedInInbox, linkedinInboxTable } from '../../functions/linkedin/inbox';
import { LINKEDIN_OFFLINE_GENERATORS } from '../../functions/linkedin/offline';
import { linkedinSettings } from '../../functions/linkedin/settings';
import { linkedinStores, type Account, type Post } from '../../functions/linkedin/store';
import { tokenCipher } from '../../functions/linkedin/tokens';
import { loadFragments } from '../../functions/platform/settings';
import { personUrn, type LinkedInServer } from '../../local/servers/linkedinServer';
import { manualClock, testStorage } from '../email/support';

export const CLIENT = { clientId: 'inbox-client', clientSecret: 'inbox-client-secret-value' };
export const ORG = 'urn:li:organization:2414183';

/** The offline AI client with LinkedIn's generators (the app adds them to OFFLINE_GENERATORS). */
export function offlineAi(): AiClient {
  return createAiClient(loadFragments({ AI_PROVIDER: 'offline' }, { ai: aiSettings }).ai, {
    storage: undefined,
    credential: () => {
      throw new Error('The offline provider needs no credential.');
    },
    offlineGenerators: { ...OFFLINE_GENERATORS, ...LINKEDIN_OFFLINE_GENERATORS },
  });
}

/**
 * The LinkedIn stores and inbox on tables of their own in the shared Azurite, the API pointed at the
 * local LinkedIn server, a clock the test moves, and helpers to connect an account without OAuth.
 */
export function linkedinFixture(server: LinkedInServer, env: Record<string, string> = {}) {
  const key = randomBytes(32);
  const settings = loadFragments(
    {
      LINKEDIN_CLIENT_ID: CLIENT.clientId,
      LINKEDIN_CLIENT_SECRET: CLIENT.clientSecret,
      LINKEDIN_REDIRECT_URI: 'http://127.0.0.1:7071/api/linkedin/callback',
      LINKEDIN_TOKEN_KEY: key.toString('base64'),
      LINKEDIN_API_URL: server.url,
      LINKEDIN_AUTH_URL: server.url,
      LINKEDIN_TIMEOUT_MS: '1000',
      ...env,
    },
    { linkedin: linkedinSettings },
  ).linkedin;
  const storage = testStorage();
  const suffix = randomBytes(5).toString('hex');
  const stores = linkedinStores({
    accounts: storage.table(`liaccounts${suffix}`),
    states: storage.table(`listates${suffix}`),
    posts: storage.table(`liposts${suffix}`),
    settings: storage.table(`lisettings${suffix}`),
  });
  const inbox = linkedinInboxTable(storage.table(`liinbox${suffix}`));
  const clock = manualClock();
  const api = linkedinApi(settings);
  const cipher = () => tokenCipher(key);
  const ai = offlineAi();
  const useCases = createLinkedInInbox({ settings, stores, inbox, api, cipher, ai, clock: clock.now });

  /** An account row as the OAuth callback stores it, with a token the local server issued. */
  const connect = async (scopes = ['openid', 'profile', 'w_member_social']): Promise<Account> => {
    const member = server.members[0];
    if (!member) throw new Error('The local server has no member.');
    const token = server.issueToken({ sub: member.sub, scopes });
    const now = clock.now();
    const account: Account = {
      id: member.sub,
      urn: personUrn(member.sub),
      name: member.name,
      scopes,
      token: cipher().seal(token),
      expiresAt: new Date(now.getTime() + 60 * 86_400_000).toISOString(),
      connectedAt: now.toISOString(),
      status: 'connected',
      reminded: [],
    };
    if (!(await stores.accounts.create(account))) await stores.accounts.mutate(account.id, () => account);
    return account;
  };

  /** A post the app published: on the local server and in the posts table. */
  const publishedPost = async (account: Account, text: string, fields: Partial<Post> = {}): Promise<Post> => {
    const live = server.addPost({ commentary: `${text} ${randomBytes(3).toString('hex')}` });
    const now = clock.now().toISOString();
    const post: Post = {
      id: randomBytes(8).toString('hex'),
      accountId: account.id,
      text,
      status: 'published',
      scheduledAt: now,
      createdAt: now,
      updatedAt: now,
      attempt: 1,
      uploaded: {},
      urn: live.urn,
      url: `https://www.linkedin.com/feed/update/${live.urn}`,
      publishedAt: now,
      rateLimited: 0,
      ...fields,
    };
    await stores.posts.create(post);
    return post;
  };

  return { settings, stores, inbox, api, cipher, clock, ai, inboxUseCases: useCases, connect, publishedPost };
}
