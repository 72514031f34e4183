// Where the page finds Companion, and how people sign in. An operator edits this file when
// deploying the page (S3 + CloudFront or any static host); nothing is built.
//
//   chatUrl       the chat function (Function URL). "" = this page's own origin, as on the
//                 local stack, where the chat app serves the page on port 8000.
//   memoryApiUrl  the memory API (HTTP API). "" = this host on port 8001 (the local stack).
//   signIn        "local"   type a name; the page asks POST /dev/token (local stack only)
//                 "token"   paste a token issued by your identity provider
//                 "cognito" a button sends people to Cognito's hosted UI, which redirects back
//                           with #id_token=... in the URL; "paste a token" stays available too
//   cognito       for signIn "cognito": your user pool domain, app client id and this page's URL
//                 (registered as the app client's callback URL, implicit grant, scope openid).
//
// A script that sets window.COMPANION_CONFIG before app.js loads overrides any of these.
const defaults = {
  chatUrl: "",
  memoryApiUrl: "",
  signIn: "local",
  cognito: {
    domain: "", // e.g. "https://my-pool.auth.us-east-1.amazoncognito.com"
    clientId: "",
    redirectUri: "", // "" = this page's URL
    scope: "openid",
  },
};

const overrides = globalThis.COMPANION_CONFIG || {};
const config = { ...defaults, ...overrides, cognito: { ...defaults.cognito, ...(overrides.cognito || {}) } };
if (!config.chatUrl) config.chatUrl = location.origin;
if (!config.memoryApiUrl) config.memoryApiUrl = `${location.protocol}//${location.hostname}:8001`;

export default config;
