// A real OpenID Connect provider for the login tests: npm oidc-provider
// (OpenID-certified), configured to log people in without any HTML so that
// a test that is not a browser can run the whole authorization code flow.
// kernel/server/tests/support/oidc.rs starts it; `cargo xtask test`
// installs it (npm ci in this folder).
//
//   node provider.mjs <config.json> [--exit-with-stdin]
//
// It listens on 127.0.0.1 on a free port and, when ready, prints exactly one
// line to stdout: `listening http://127.0.0.1:<port>`. That URL is the
// issuer (no trailing slash). Everything else (oidc-provider's notices, a
// line per request, errors) goes to stderr. With --exit-with-stdin it exits
// when its stdin closes, so it cannot outlive a test process that dies
// without killing it.
//
// Config (JSON):
//   {
//     "clients": [{                       // oidc-provider client metadata,
//       "client_id": "tillit",            // passed through as given, with
//       "client_secret": "...",           // these defaults: grant_types
//       "token_endpoint_auth_method":     // ["authorization_code"],
//         "client_secret_basic" | "private_key_jwt" | ...,
//       "jwks": { "keys": [...] },        // response_types ["code"],
//       "redirect_uris": ["http://demo.localhost:8080/login/oidc/callback"],
//       "post_logout_redirect_uris": [...],   // id_token_signed_response_alg
//       "backchannel_logout_uri": "...",      // = id_token_signing_alg, and
//     }],                                     // backchannel_logout_session_required
//                                             // true when a backchannel_logout_uri is given
//     "claims_in": "id_token" | "userinfo",   // default "id_token"
//     "id_token_signing_alg": "RS256",        // default; also RS384/RS512,
//                                             // PS256/384/512, ES256/384/512, Ed25519
//     "acr_values_supported": [...],          // optional; only for discovery
//     "at_hash": true,                        // default; false leaves at_hash out
//     "now_ms": 1800000000000                 // optional: the provider's clock
//   }                                         // reads this (Unix ms) at start
//                                             // and then runs in real time
//
// "default_login_hint": "198112189876" (optional) logs that account in when
// a request has no login_hint, as a browser test's would not.
//
// now_ms is for a kernel on a manual clock (the HTTP tests start theirs at
// 1_800_000_000_000): the provider's iat/exp, code and token expiry and its
// checks of client assertions then agree with the kernel. It shifts
// Date.now() in this process, so cookie expiry dates shift too (only
// RP-initiated logout needs a cookie; a clock set in the past makes a
// cookie jar drop it).
//
// Logging in. Every authorization request is a fresh login (no single
// sign-on: the provider's session cookie is ignored on the authorization
// endpoint, so `prompt=none` always answers login_required). The account is
// the request's `login_hint`; the chain is
//
//   GET  <issuer>/auth?...&login_hint=200002292381&acr_values=...
//     -> 303 Location: <issuer>/interaction/<uid>        (absolute)
//   GET  <issuer>/interaction/<uid>     logs in the hint, grants every
//                                       requested scope and claim
//     -> 303 Location: <issuer>/auth/<uid>               (absolute)
//   GET  <issuer>/auth/<uid>            (resume)
//     -> 303 Location: <redirect_uri>?code=...&state=...&iss=...
//
// No cookie has to be kept between these hops: the interaction is found by
// the uid in its path, and the resume step is given the interaction cookie
// oidc-provider would otherwise demand. A client that keeps cookies works
// the same. Without a login_hint the interaction answers
// `error=login_required` at the redirect_uri (through the same chain).
// A request without PKCE (S256) is refused: 303 to the redirect_uri with
// error=invalid_request. Errors that cannot go back to the client (unknown
// client, unregistered redirect_uri) are answered with oidc-provider's error
// JSON and its status.
//
// Accounts. Any login_hint is an account; `sub` is a pseudonym (the first
// 32 hex digits of sha256(hint)), never the hint. A 12-digit hint (a
// personnummer) has ssn, nin, https://id.oidc.se/claim/personalIdentityNumber
// and credentialPersonalIdentityNumber equal to it, given_name "Test" and
// family_name "Person"; a hint starting with "SE" (a HSA-id) has
// employeeHsaId. Scopes: openid, ssn [ssn], nin [nin],
// https://id.oidc.se/scope/naturalPersonNumber [the id.oidc.se claim],
// profile [given_name family_name], siths [employeeHsaId
// credentialPersonalIdentityNumber]. With claims_in "id_token" those claims
// are in the ID token (and at userinfo); with "userinfo" only at userinfo.
// The ID token's acr is the first of the request's acr_values.
// The token endpoint's ID token carries at_hash (oidc-provider leaves it
// out there by itself; this file adds it).
//
// Back-channel logout, two ways:
//   1. POST <issuer>/test/backchannel?account=<login_hint>  (test-only)
//      ends every session of that account and sends a logout token
//      (sub = the pseudonym, sid, events) to the backchannel_logout_uri of
//      every client that had a session for it, waiting for each answer.
//      Answers 200 with JSON {account, sub, sessions, notified: [{client_id,
//      sid, ok, error?}]}, or 502 with the same JSON when a delivery
//      failed (not 200/204 from the RP, or unreachable: 2.5 s timeout).
//   2. RP-initiated logout, as a browser does it (needs the provider's
//      `_session` cookie from the resume response, so a cookie jar):
//      GET <issuer>/session/end?id_token_hint=...&post_logout_redirect_uri=...&state=...
//        -> 200 HTML with <form method="post" action="<issuer>/session/end/confirm">
//           holding hidden inputs xsrf and logout=yes
//      POST <issuer>/session/end/confirm  xsrf=...&logout=yes
//        -> back-channel logout to every client of the session, then
//           303 to post_logout_redirect_uri?state=...
//
// Everything is in memory; a restart forgets it all. Keys (signing and
// cookie) are generated at each start.

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { format } from 'node:util';

import Provider from 'oidc-provider';

// oidc-provider prints notices with console.info; stdout is only for the
// `listening` line.
for (const level of ['log', 'info', 'debug']) {
  console[level] = (...args) => process.stderr.write(`${format(...args)}\n`);
}

const args = process.argv.slice(2);
const configPath = args.find((a) => !a.startsWith('--'));
if (!configPath) {
  console.error('usage: node provider.mjs <config.json> [--exit-with-stdin]');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));

const claimsIn = config.claims_in ?? 'id_token';
if (!['id_token', 'userinfo'].includes(claimsIn)) {
  throw new Error(`claims_in must be "id_token" or "userinfo", not ${JSON.stringify(claimsIn)}`);
}
const alg = config.id_token_signing_alg ?? 'RS256';
const withAtHash = config.at_hash ?? true;
if (config.now_ms !== undefined) {
  if (!Number.isSafeInteger(config.now_ms)) {
    throw new Error('now_ms must be an integer (Unix time in milliseconds)');
  }
  const realNow = Date.now.bind(Date);
  const skew = config.now_ms - realNow();
  Date.now = () => realNow() + skew;
}
if (!Array.isArray(config.clients) || config.clients.length === 0) {
  throw new Error('config.clients must list at least one client');
}

// --- keys --------------------------------------------------------------

function signingKey(algorithm) {
  let pair;
  if (/^(RS|PS)(256|384|512)$/.test(algorithm)) {
    pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  } else if (/^ES(256|384|512)$/.test(algorithm)) {
    const curve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[algorithm];
    pair = generateKeyPairSync('ec', { namedCurve: curve });
  } else if (algorithm === 'Ed25519' || algorithm === 'EdDSA') {
    pair = generateKeyPairSync('ed25519');
  } else {
    throw new Error(`id_token_signing_alg ${algorithm} is not supported here`);
  }
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, use: 'sig', alg: algorithm, kid: `test-${algorithm.toLowerCase()}-${randomBytes(4).toString('hex')}` };
}

// --- accounts ----------------------------------------------------------

const PERSONNUMMER = /^\d{12}$/;

function pseudonym(hint) {
  return createHash('sha256').update(hint).digest('hex').slice(0, 32);
}

// The pseudonym (accountId and sub) of every account logged in so far, to
// its login_hint.
const hints = new Map();

function accountClaims(hint) {
  const claims = { sub: pseudonym(hint) };
  if (PERSONNUMMER.test(hint)) {
    Object.assign(claims, {
      ssn: hint,
      nin: hint,
      'https://id.oidc.se/claim/personalIdentityNumber': hint,
      credentialPersonalIdentityNumber: hint,
      given_name: 'Test',
      family_name: 'Person',
    });
  }
  if (hint.startsWith('SE')) {
    claims.employeeHsaId = hint;
  }
  return claims;
}

// --- storage: in memory, and enumerable (for /test/backchannel) ----------

const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }

function epochNow() {
  return Math.floor(Date.now() / 1000);
}

class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  static live(entry) {
    return entry && (entry.expiresAt === undefined || entry.expiresAt > Date.now());
  }

  async upsert(id, payload, expiresIn) {
    store.set(this.key(id), {
      payload,
      expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined,
    });
  }

  async find(id) {
    const entry = store.get(this.key(id));
    if (!MemoryAdapter.live(entry)) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findBy(field, value) {
    for (const [key, entry] of store) {
      if (key.startsWith(`${this.model}:`) && MemoryAdapter.live(entry) && entry.payload[field] === value) {
        return entry.payload;
      }
    }
    return undefined;
  }

  async findByUid(uid) {
    return this.findBy('uid', uid);
  }

  async findByUserCode(userCode) {
    return this.findBy('userCode', userCode);
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) {
      entry.payload.consumed = epochNow();
    }
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const [key, entry] of store) {
      if (key.startsWith(`${this.model}:`) && entry.payload.grantId === grantId) {
        store.delete(key);
      }
    }
  }

  static entries(model) {
    const found = [];
    for (const [key, entry] of store) {
      if (key.startsWith(`${model}:`) && MemoryAdapter.live(entry)) {
        found.push(entry.payload);
      }
    }
    return found;
  }
}

// --- the provider ------------------------------------------------------

const scopeClaims = {
  ssn: ['ssn'],
  nin: ['nin'],
  'https://id.oidc.se/scope/naturalPersonNumber': ['https://id.oidc.se/claim/personalIdentityNumber'],
  profile: ['given_name', 'family_name'],
  siths: ['employeeHsaId', 'credentialPersonalIdentityNumber'],
};

const clients = config.clients.map((client) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  id_token_signed_response_alg: alg,
  ...(client.backchannel_logout_uri ? { backchannel_logout_session_required: true } : undefined),
  ...client,
}));

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = body;
}

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  clients,
  jwks: { keys: [signingKey(alg)] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  // oidc-provider's defaults for these are functions that print a notice;
  // the same lengths, as numbers. AuthorizationCode stays at its 60 s.
  ttl: {
    AccessToken: 3600,
    IdToken: 3600,
    Interaction: 600,
    Grant: 86400,
    Session: 86400,
  },
  scopes: ['openid', ...Object.keys(scopeClaims)],
  claims: {
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
    openid: ['sub'],
    ...scopeClaims,
  },
  conformIdTokenClaims: claimsIn !== 'id_token',
  acrValues: config.acr_values_supported ?? [
    'urn:test:loa3',
    'http://id.elegnamnden.se/loa/1.0/loa3',
    'http://id.elegnamnden.se/loa/1.0/loa4',
  ],
  enabledJWA: {
    idTokenSigningAlgValues: [alg],
    userinfoSigningAlgValues: [alg],
  },
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.type = 'html';
        ctx.body = `<!DOCTYPE html><title>Logout</title>${form.replace(
          '</form>',
          '<input type="hidden" name="logout" value="yes"/></form>',
        )}`;
      },
      async postLogoutSuccessSource(ctx) {
        ctx.type = 'text';
        ctx.body = 'signed out';
      },
    },
  },
  interactions: {
    url: (ctx, interaction) => `${issuer}/interaction/${interaction.uid}`,
  },
  async findAccount(ctx, id) {
    const hint = hints.get(id);
    if (hint === undefined) {
      return undefined;
    }
    return { accountId: id, claims: () => accountClaims(hint) };
  },
  // Back-channel logout tokens go to the RP on 127.0.0.1; oidc-provider's
  // own dispatcher refuses loopback and private addresses.
  fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
  async renderError(ctx, out) {
    json(ctx, ctx.status, out);
  },
});

// at_hash in the token endpoint's ID token.
if (withAtHash) {
  const BaseIdToken = provider.IdToken;
  class IdToken extends BaseIdToken {
    async issue(options = {}) {
      const at = this.ctx?.oidc?.entities?.AccessToken;
      if (options.use === 'idtoken' && this.ctx?.oidc?.route === 'token' && at?.jti && !('at_hash' in this.extra)) {
        // An opaque access token's value is its jti.
        this.set('at_hash', at.jti);
      }
      return super.issue(options);
    }
  }
  Object.defineProperty(provider, 'IdToken', { value: IdToken, configurable: true });
}

for (const event of [
  'server_error', 'authorization.error', 'grant.error', 'userinfo.error',
  'end_session.error', 'backchannel.error', 'interaction.error', 'discovery.error',
]) {
  provider.on(event, (ctx, err, ...rest) => {
    const error = err instanceof Error ? err : rest.find((x) => x instanceof Error) ?? err;
    console.error(`${event}: ${error?.message ?? error}${error?.error_description ? ` (${error.error_description})` : ''}${error?.cause ? ` cause: ${error.cause.message ?? error.cause}` : ''}`);
  });
}
provider.on('backchannel.success', (ctx, client, accountId, sid) => {
  console.error(`backchannel.success: ${client.clientId} sub=${accountId} sid=${sid}`);
});

function stripCookies(header, names) {
  return (header ?? '')
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !names.some((n) => c.startsWith(`${n}=`) || c.startsWith(`${n}.`)))
    .join('; ');
}

async function logInFromHint(ctx, uid) {
  const interaction = await provider.Interaction.find(uid);
  if (!interaction) {
    json(ctx, 400, { error: 'invalid_request', error_description: 'unknown or expired interaction' });
    return;
  }
  const { params } = interaction;
  // A browser test cannot add login_hint to the request: the config's
  // default_login_hint stands in for the person at the e-ID app.
  const hint = params.login_hint ?? config.default_login_hint;
  if (!hint) {
    interaction.result = {
      error: 'login_required',
      error_description: 'this test provider logs in the account named by login_hint, and there is none',
    };
  } else {
    const accountId = pseudonym(hint);
    hints.set(accountId, hint);
    const grant = new provider.Grant({ accountId, clientId: params.client_id });
    if (params.scope) {
      grant.addOIDCScope(params.scope);
    }
    if (params.claims) {
      const requested = JSON.parse(params.claims);
      grant.addOIDCClaims([
        ...Object.keys(requested.id_token ?? {}),
        ...Object.keys(requested.userinfo ?? {}),
      ]);
    }
    const acr = params.acr_values?.split(' ').find(Boolean);
    interaction.result = {
      login: { accountId, ...(acr ? { acr } : undefined) },
      consent: { grantId: await grant.save() },
    };
  }
  await interaction.save(interaction.exp - epochNow());
  ctx.status = 303;
  ctx.redirect(interaction.returnTo);
}

async function backchannelLogout(ctx) {
  const hint = ctx.query.account;
  if (typeof hint !== 'string' || !hint) {
    json(ctx, 400, { error: 'invalid_request', error_description: 'account=<login_hint> is required' });
    return;
  }
  const sub = pseudonym(hint);
  const sessions = MemoryAdapter.entries('Session').filter((s) => s.accountId === sub);
  const notified = [];
  for (const stored of sessions) {
    const session = await provider.Session.find(stored.jti);
    if (!session) {
      continue;
    }
    for (const [clientId, { grantId }] of Object.entries(session.authorizations ?? {})) {
      const client = await provider.Client.find(clientId);
      if (client?.backchannelLogoutUri) {
        const sid = session.sidFor(clientId);
        try {
          await client.backchannelLogout(sub, sid);
          notified.push({ client_id: clientId, sid, ok: true });
        } catch (err) {
          notified.push({
            client_id: clientId,
            sid,
            ok: false,
            error: `${err.message}${err.cause ? `: ${err.cause.message ?? err.cause}` : ''}`,
          });
        }
      }
      if (grantId) {
        await Promise.all(['AccessToken', 'AuthorizationCode', 'RefreshToken']
          .map((model) => provider[model].adapter.revokeByGrantId(grantId)));
        await provider.Grant.adapter.destroy(grantId);
      }
    }
    await session.destroy();
  }
  for (const n of notified) {
    console.error(`test backchannel: ${n.client_id} sid=${n.sid} ${n.ok ? 'ok' : n.error}`);
  }
  json(ctx, notified.every((n) => n.ok) ? 200 : 502, {
    account: hint, sub, sessions: sessions.length, notified,
  });
}

provider.use(async (ctx, next) => {
  const started = Date.now();
  try {
    const resume = ctx.method === 'GET' && ctx.path.match(/^\/auth\/([^/]+)$/);
    const interaction = ctx.method === 'GET' && ctx.path.match(/^\/interaction\/([^/]+)$/);
    if ((ctx.method === 'GET' || ctx.method === 'POST') && ctx.path === '/auth') {
      // Always a fresh login: never the session of an earlier one.
      ctx.req.headers.cookie = stripCookies(ctx.req.headers.cookie, ['_session']);
    } else if (resume) {
      // The resume step wants the interaction cookie set at /auth; a client
      // without a cookie jar has none, so give it the one it would send.
      const name = '_interaction_resume';
      const value = `${name}=${resume[1]}`;
      const signature = ctx.cookies.keys.sign(value);
      ctx.req.headers.cookie = [
        stripCookies(ctx.req.headers.cookie, ['_session', name]),
        value,
        `${name}.sig=${signature}`,
      ].filter(Boolean).join('; ');
    } else if (interaction) {
      await logInFromHint(ctx, interaction[1]);
      return;
    } else if (ctx.method === 'POST' && ctx.path === '/test/backchannel') {
      await backchannelLogout(ctx);
      return;
    }
    await next();
  } finally {
    console.error(`${ctx.method} ${ctx.path} -> ${ctx.status}${ctx.status >= 300 && ctx.status < 400 ? ` ${ctx.response.get('location')}` : ''} (${Date.now() - started} ms)`);
  }
});

server.on('request', provider.callback());

if (args.includes('--exit-with-stdin')) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}

process.stdout.write(`listening ${issuer}\n`);
