// Builds the request authenticator from the server's flags: client
// certificates (always) and bearer tokens from --token-auth-file.
import type { IncomingMessage } from 'node:http';
import { type TokenAuthenticator, type UserInfo, authenticateRequest, loadTokenFile } from './authn.js';

export type Authenticator = (req: IncomingMessage) => UserInfo | undefined;

export function createAuthenticator(opts: { tokenAuthFile?: string }): Authenticator {
  const tokens: TokenAuthenticator | undefined = opts.tokenAuthFile ? loadTokenFile(opts.tokenAuthFile) : undefined;
  return (req) => authenticateRequest(req, tokens);
}
