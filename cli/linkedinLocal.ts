import { portFromEnv } from './command';
import {
  personUrn,
  startLinkedInServer,
  type LinkedInPost,
  type LinkedInRequest,
} from '../local/servers/linkedinServer';

/**
 * `npm run linkedin:local`: the local LinkedIn server (OAuth, userinfo, introspection, image upload,
 * posts, comments, member post analytics) on port 7080, serving both LinkedIn hosts, so the app under
 * `npm run serve` can connect an account and publish without a LinkedIn app. Nobody logs in: the
 * default member approves every authorization at once. It prints the settings to run the app with,
 * then one line per request (method, path, status; never a token, a code or a query string) and a line
 * for each post created, with its URN and how it starts, so a post cut by an unescaped character or
 * published twice shows at a glance.
 */
const CLIENT_ID = 'local-client';
const CLIENT_SECRET = 'local-secret';
const REDIRECT_URI = 'http://127.0.0.1:7071/api/linkedin/callback';
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function showRequest(request: LinkedInRequest): void {
  const at = new Date().toISOString().slice(11, 19);
  const late = request.clientGaveUp ? ' (the client had given up)' : '';
  out(`${at} ${request.status} ${request.method} ${request.path}${late}`);
}

function showPost(post: LinkedInPost): void {
  const text = post.text.replace(/\s+/g, ' ').trim();
  const start = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  const cut = post.truncated ? ' — cut by LinkedIn at an unescaped character' : '';
  out(`         posted ${post.urn}: "${start}"${cut}`);
}

/** `YYYYMM` of a month `back` months before `date`. */
function monthsBefore(date: Date, back: number): string {
  const month = date.getUTCFullYear() * 12 + date.getUTCMonth() - back;
  return `${Math.floor(month / 12)}${String((month % 12) + 1).padStart(2, '0')}`;
}

async function main(): Promise<void> {
  const port = portFromEnv('LINKEDIN_LOCAL_PORT', 7080);
  const server = await startLinkedInServer({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    port,
    onRequest: showRequest,
    onPost: showPost,
  });
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  const member = server.members[0];
  const now = new Date();
  out(`Local LinkedIn server on ${server.url} (OAuth and REST API on one port).`);
  out('Run the app with these settings:');
  out(
    `  LINKEDIN_CLIENT_ID=${CLIENT_ID} LINKEDIN_CLIENT_SECRET=${CLIENT_SECRET} LINKEDIN_AUTH_URL=${server.url} ` +
      `LINKEDIN_API_URL=${server.url} LINKEDIN_REDIRECT_URI=${REDIRECT_URI}`,
  );
  out(
    `LINKEDIN_VERSION may be any month from ${monthsBefore(now, 12)} to ${monthsBefore(now, 0)}; others answer 426.`,
  );
  if (member) {
    out(`Signed in as ${member.name} (${personUrn(member.sub)}): every authorization is approved at once.`);
  }
  out('Requests appear below; Ctrl-C stops.');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
