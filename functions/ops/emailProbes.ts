import { connect } from 'node:net';
import { acsEndpointOf, type EmailSettings } from '../email/settings';
import { httpProbe, type DependencyProbe } from './health';

/** Resolves once a TCP connection to host:port opens (and closes it); no SMTP command is sent. */
function tcpReachable(host: string, port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, signal });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

/**
 * Reachability of the configured email provider, optional (without it replies wait, nothing else
 * stops): ACS answers any HTTP request to its endpoint (no key is sent, no mail), an SMTP server
 * accepts a TCP connection. None when no provider is configured.
 */
export function emailProbes(
  email: EmailSettings | undefined,
  fetchFn: typeof fetch = fetch,
): DependencyProbe[] {
  if (!email || email.provider === 'none') return [];
  if (email.provider === 'smtp') {
    const { host, port } = email.smtp;
    return [{ name: 'email:smtp', required: false, check: (signal) => tcpReachable(host, port, signal) }];
  }
  const endpoint = acsEndpointOf(email.acs);
  return [httpProbe('email:acs', endpoint, fetchFn)];
}
