import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';

/**
 * The app's Microsoft Entra ID credential: its user-assigned managed identity in Azure (the client id
 * comes with the identity-based storage settings), a developer's own sign-in locally.
 */
export function appCredential(clientId: string | undefined): TokenCredential {
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}
