// A real OpenID provider (panva's oidc-provider) on a loopback port, for the
// resource-server tests: one client-credentials client, JWT access tokens
// through resource indicators, a fresh signing key at every start.
//
//   node provider.mjs <port or 0> <alg: RS256 | ES256 | EdDSA>
//
// Prints one JSON line when it listens: {"issuer", "kid", "client_id",
// "client_secret", "audiences"}. Stops on SIGTERM or when stdin closes.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.argv[2] ?? 0);
const alg = process.argv[3] ?? 'RS256';
const audiences = ['urn:poem-auth:api', 'urn:poem-auth:other-api'];
const clientId = 'chat-backend';
const clientSecret = 'a-client-secret-for-the-loopback-provider';

function signingKey() {
  const kid = randomUUID();
  const pair = alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('ed25519');
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, kid, alg, use: 'sig' };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const key = signingKey();

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    id_token_signed_response_alg: alg,
  }],
  jwks: { keys: [key] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audiences[0],
      getResourceServerInfo: (_ctx, resource) => {
        if (!audiences.includes(resource)) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: 'conversation:read conversation:write users:list',
          audience: resource,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        };
      },
    },
  },
});
server.on('request', provider.callback());

process.stdout.write(`${JSON.stringify({
  issuer, kid: key.kid, client_id: clientId, client_secret: clientSecret, audiences,
})}\n`);

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
