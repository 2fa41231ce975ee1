/*
 * jupyterlite-stream's service worker: JupyterLite's own worker (relaying
 * /api/drive and /api/stdin for the kernel) plus cross-origin isolation for
 * hosts that cannot send headers, such as GitHub Pages, plus the site's
 * offline copy.
 *
 * SharedArrayBuffer, and with it real interrupts, needs every page response to
 * carry Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy. This
 * worker adds them to the site's own responses. It must be the site's only
 * service worker (JupyterLite unregisters any other), so it loads JupyterLite's
 * worker beside itself: its activate/relay handlers stay as they are.
 *
 * Offline: the build writes stream-offline.json (every file with its size and
 * sha256, and a build id). When a page asks (`jupyterlite-stream:check`), the
 * worker copies the whole build into one Cache named by its id, checking every
 * file's hash, and from then on answers from that cache without asking the
 * network. A newer build is copied into a new cache beside it and becomes the
 * "active build" only when a page accepts it; each page keeps the build it was
 * loaded from, so one page never mixes files of two builds.
 */
"use strict";

const MANIFEST = "stream-offline.json";
/**
 * Every Cache of ours starts with this; another version's are dropped (v1
 * stored responses without the isolation headers).
 */
const PREFIX = "jupyterlite-stream-v2-";
const OLD_PREFIX = "jupyterlite-stream-";
const BUILD_PREFIX = `${PREFIX}build-`;
const STATE_CACHE = `${PREFIX}state`;
const CDN_CACHE = `${PREFIX}cdn`;
const SCOPE = new URL("./", self.location.href);
/** Keys in our caches that are no file of the site. */
const ACTIVE_KEY = new URL("./.jupyterlite-stream/active-build", SCOPE).href;
const COMPLETE_KEY = new URL("./.jupyterlite-stream/complete", SCOPE).href;
const CDN_INDEX_KEY = new URL("./.jupyterlite-stream/cdn-index", SCOPE).href;
const PARALLEL_DOWNLOADS = 4;
const MESSAGE = "jupyterlite-stream:";

/** The requests JupyterLite's worker answers itself. */
function isJupyterLiteApi(url) {
  return (
    url.origin === self.location.origin &&
    (url.pathname.includes("/api/drive") ||
      url.pathname.includes("/api/stdin/") ||
      url.pathname === "/api/service-worker-heartbeat")
  );
}

/**
 * `credentialless` keeps cross-origin images (in Markdown cells) and the CDN
 * fallback for compiled packages working; Safari only knows `require-corp`.
 */
function embedderPolicy() {
  const ua = self.navigator.userAgent;
  const safari = /Safari\//.test(ua) && !/(Chrome|Chromium|Edg)\//.test(ua);
  return safari ? "require-corp" : "credentialless";
}

function withIsolationHeaders(response) {
  // opaque and error responses cannot be changed (and need not be); a host
  // that sends the headers itself needs no copy through this thread
  if (
    response.status === 0 ||
    response.type === "opaque" ||
    hasIsolationHeaders(response)
  ) {
    return response;
  }
  return asNewResponse(response, isolationHeaders(response.headers));
}

function hasIsolationHeaders(response) {
  return (
    response.headers.has("Cross-Origin-Opener-Policy") &&
    response.headers.has("Cross-Origin-Embedder-Policy")
  );
}

function asNewResponse(response, headers) {
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

function isolationHeaders(original) {
  const headers = new Headers(original);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", embedderPolicy());
  headers.set("Cross-Origin-Resource-Policy", "same-origin");
  return headers;
}

/** A file the manifest marks `unpack` (the start-up snapshot), unpacked. */
async function unpacked(body, entry) {
  const bytes = new Uint8Array(body);
  if (entry.unpack !== "gzip" || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    return body;
  }
  const stream = new Blob([body])
    .stream()
    .pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).arrayBuffer();
}

/**
 * A file of the build as the offline copy stores it: with the isolation
 * headers already, so that it can be served as stored (see fromSite).
 */
function storable(body, headers) {
  const stored = isolationHeaders(headers);
  // the body may be unpacked or smaller than what the server sent
  stored.delete("Content-Encoding");
  stored.set("Content-Length", String(body.byteLength));
  return new Response(body, { status: 200, headers: stored });
}

// --- the builds we hold ------------------------------------------------------

/** The manifest of the active build, or null (nothing cached, cache off). */
let active = null;
/** Which build each page (and each worker of a page) was loaded from. */
const pinned = new Map();
/** Checks and switches one at a time (two tabs may ask together). */
let queue = Promise.resolve();
const loaded = loadActive();

function enqueue(job) {
  const result = queue.then(job);
  queue = result.catch(() => undefined);
  return result;
}

/** A manifest as the build writes it; anything else is refused. */
function isManifest(data) {
  return (
    !!data &&
    data.version === 1 &&
    typeof data.build === "string" &&
    /^[0-9a-f]{8,64}$/.test(data.build) &&
    !!data.files &&
    typeof data.files === "object" &&
    Object.values(data.files).every(
      (e) => e && Number.isInteger(e.size) && /^[0-9a-f]{64}$/.test(e.sha256),
    )
  );
}

async function loadActive() {
  try {
    // `has` first: with the cache off, nothing of ours is ever created
    if (!(await caches.has(STATE_CACHE))) {
      return;
    }
    const stored = await (await caches.open(STATE_CACHE)).match(ACTIVE_KEY);
    const manifest = stored ? await stored.json() : null;
    const complete =
      isManifest(manifest) &&
      (await caches.has(BUILD_PREFIX + manifest.build)) &&
      !!(await (
        await caches.open(BUILD_PREFIX + manifest.build)
      ).match(COMPLETE_KEY));
    active = complete ? manifest : null;
  } catch (err) {
    // written by another version, or damaged: start again from the network
    console.warn("[jupyterlite-stream] offline copy unreadable, dropped:", err);
    active = null;
  }
}

async function setActive(manifest) {
  const state = await caches.open(STATE_CACHE);
  await state.put(ACTIVE_KEY, new Response(JSON.stringify(manifest)));
  active = manifest;
}

/** Delete every Cache of ours (cache switched off, Clear Browser Data). */
async function forgetAll() {
  active = null;
  pinned.clear();
  for (const name of await caches.keys()) {
    if (name.startsWith(OLD_PREFIX)) {
      await caches.delete(name);
    }
  }
}

/** Delete the builds no open page uses any more (and other versions' caches). */
async function cleanUp() {
  const alive = new Set(
    (
      await self.clients.matchAll({ includeUncontrolled: true, type: "all" })
    ).map((c) => c.id),
  );
  const kept = new Set(
    [active, pending].filter(Boolean).map((m) => BUILD_PREFIX + m.build),
  );
  for (const [id, manifest] of pinned) {
    if (!alive.has(id)) {
      pinned.delete(id);
    } else if (manifest) {
      kept.add(BUILD_PREFIX + manifest.build);
    }
  }
  for (const name of await caches.keys()) {
    const otherVersion =
      name.startsWith(OLD_PREFIX) && !name.startsWith(PREFIX);
    if (otherVersion || (name.startsWith(BUILD_PREFIX) && !kept.has(name))) {
      await caches.delete(name);
    }
  }
}

/** A newer build, copied and waiting for a page's user to accept it. */
let pending = null;

/** The URL of a file of the site, as its cache key. */
function keyOf(path) {
  return new URL(path, SCOPE).href;
}

/** The file a URL of the site names (`lab/` is `lab/index.html`), or null. */
function sitePath(href) {
  const url = new URL(href);
  if (url.origin !== SCOPE.origin || !url.pathname.startsWith(SCOPE.pathname)) {
    return null;
  }
  try {
    const path = decodeURIComponent(url.pathname.slice(SCOPE.pathname.length));
    return path === "" || path.endsWith("/") ? `${path}index.html` : path;
  } catch {
    return null; // a malformed %-escape
  }
}

async function sha256(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * One file of a build, checked against the manifest. The HTTP cache may hold
 * an older copy (the stale-cache bugs of JupyterLite's own cache): then it is
 * fetched again past it. A dropped connection (school wifi) is retried.
 */
async function fetchChecked(path, entry) {
  const attempts = ["default", "reload", "reload", "reload"];
  let why = "not the file the manifest lists";
  for (const [i, mode] of attempts.entries()) {
    try {
      const response = await fetch(keyOf(path), { cache: mode });
      const body = response.ok ? await response.arrayBuffer() : null;
      if (
        body &&
        body.byteLength === entry.size &&
        (await sha256(body)) === entry.sha256
      ) {
        return storable(await unpacked(body, entry), response.headers);
      }
      why = response.ok
        ? "not the file the manifest lists"
        : `HTTP ${response.status}`;
    } catch (err) {
      why = String(err?.message ?? err);
      await new Promise((resolve) => setTimeout(resolve, 200 * i));
    }
  }
  throw new Error(why);
}

/** Copy a whole build into its own cache (files already there are kept). */
async function precache(manifest) {
  const name = BUILD_PREFIX + manifest.build;
  const cache = await caches.open(name);
  if (await cache.match(COMPLETE_KEY)) {
    return;
  }
  const previous = active
    ? await caches.open(BUILD_PREFIX + active.build)
    : null;
  const todo = Object.entries(manifest.files).filter(
    ([, entry]) => !entry.lazy,
  );
  const worker = async () => {
    for (let next = todo.pop(); next; next = todo.pop()) {
      const [path, entry] = next;
      const key = keyOf(path);
      if (await cache.match(key)) {
        continue;
      }
      // a file the new build did not change comes from the old copy
      const same = previous && active.files[path]?.sha256 === entry.sha256;
      const kept = same ? await previous.match(key) : undefined;
      try {
        await cache.put(key, kept ?? (await fetchChecked(path, entry)));
      } catch (err) {
        throw new Error(`${path}: ${err?.message ?? err}`);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_DOWNLOADS }, worker));
  await cache.put(COMPLETE_KEY, new Response(JSON.stringify(manifest)));
}

/**
 * What a page asks for when it has loaded: keep the site offline, and tell
 * whether a newer build is ready.
 */
async function check() {
  await loaded;
  let manifest;
  try {
    const response = await fetch(keyOf(MANIFEST), { cache: "no-store" });
    manifest = response.ok ? await response.json() : null;
  } catch {
    return { status: active ? "offline" : "unavailable" };
  }
  if (!isManifest(manifest)) {
    return { status: "no-manifest" };
  }
  if (manifest.cache === false) {
    await forgetAll();
    return { status: "off" };
  }
  if (!active) {
    await precache(manifest);
    await setActive(manifest);
    return { status: "cached", build: manifest.build };
  }
  if (manifest.build === active.build) {
    pending = null;
    await cleanUp();
    return { status: "current", build: active.build };
  }
  await precache(manifest);
  pending = manifest;
  return {
    status: "update-ready",
    build: manifest.build,
    current: active.build,
  };
}

/** The page's user accepted the new build: the next page load uses it. */
async function accept(build) {
  if (!pending || pending.build !== build) {
    return { status: "unknown-build" };
  }
  await setActive(pending);
  pending = null;
  return { status: "switched", build };
}

self.addEventListener("message", (event) => {
  const { data } = event;
  const reply = (result) => event.ports[0]?.postMessage(result);
  const fail = (err) =>
    reply({ status: "error", message: String(err?.message ?? err) });
  let job = null;
  if (data?.type === `${MESSAGE}check`) {
    job = enqueue(check);
  } else if (data?.type === `${MESSAGE}accept`) {
    job = enqueue(() => accept(data.build));
  } else if (data?.type === `${MESSAGE}clear`) {
    job = enqueue(async () => {
      await forgetAll();
      return { status: "cleared" };
    });
  } else if (data?.type === `${MESSAGE}status`) {
    job = loaded.then(() => ({
      status: "status",
      active: active?.build ?? null,
      pending: pending?.build ?? null,
    }));
  }
  if (job) {
    event.waitUntil(job.then(reply, fail));
  }
});

// --- answering requests ------------------------------------------------------

/** The build a request belongs to: its page's, a new page gets the active one. */
function buildFor(event) {
  const { request } = event;
  const parent =
    request.mode === "navigate"
      ? active
      : (pinned.get(event.clientId) ?? active);
  // a new page or a page's worker keeps the build it started with
  if (event.resultingClientId) {
    pinned.set(event.resultingClientId, parent);
  }
  return parent;
}

async function tellUnavailable(path) {
  for (const client of await self.clients.matchAll({ type: "window" })) {
    client.postMessage({ type: `${MESSAGE}unavailable-offline`, path });
  }
}

function notFound(path, why) {
  return new Response(`${path}: ${why}`, {
    status: 404,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}

async function fromSite(event) {
  await loaded;
  const { request } = event;
  const manifest = buildFor(event);
  const path = sitePath(request.url);
  const entry = manifest && path !== null ? manifest.files[path] : undefined;
  if (!entry) {
    // not a file of the build we hold (or nothing held): the network decides
    try {
      return withIsolationHeaders(await fetch(request));
    } catch (err) {
      if (!manifest) {
        throw err;
      }
      return notFound(
        path,
        "not part of this site, and the network is not reachable",
      );
    }
  }
  const cache = await caches.open(BUILD_PREFIX + manifest.build);
  const hit = await cache.match(keyOf(path));
  if (hit) {
    // As stored, a response's body goes to the page without passing
    // through this worker's thread: twice as fast for the 18 MB snapshot,
    // and much more while the page loads its bundles through here at once.
    // A page itself gets a new response: its URL must stay the one asked
    // for (`lab/?path=...`, not the stored `lab/index.html`).
    return request.mode === "navigate" ? asNewResponse(hit, hit.headers) : hit;
  }
  // a large file the teacher added: kept offline once it was opened
  let response;
  try {
    response = await fetch(request);
  } catch {
    await tellUnavailable(path);
    return notFound(
      path,
      "not available offline (it was never opened while online)",
    );
  }
  if (response.ok && request.method === "GET") {
    const body = await response.arrayBuffer();
    const checked = (await sha256(body)) === entry.sha256;
    response = storable(
      checked ? await unpacked(body, entry) : body,
      response.headers,
    );
    if (checked) {
      event.waitUntil(cache.put(keyOf(path), response.clone()));
    }
  }
  return withIsolationHeaders(response);
}

// --- compiled packages from the CDN ------------------------------------------

function isCdn(url) {
  return !!active?.cdn && url.startsWith(active.cdn);
}

/** Kept within `cdnCacheMB`: the least recently added package goes first. */
async function keepFromCdn(url, response) {
  const body = await response.arrayBuffer();
  const cap = (active?.cdnCacheMB ?? 0) * 2 ** 20;
  if (!active || body.byteLength > cap) {
    return;
  }
  const cache = await caches.open(CDN_CACHE);
  const stored = await cache.match(CDN_INDEX_KEY);
  let index = [];
  try {
    index = stored ? await stored.json() : [];
  } catch {
    index = [];
  }
  index = Array.isArray(index) ? index.filter((e) => e && e.url !== url) : [];
  let total =
    index.reduce((sum, e) => sum + (Number(e.size) || 0), 0) + body.byteLength;
  while (total > cap && index.length) {
    const oldest = index.shift();
    total -= Number(oldest.size) || 0;
    await cache.delete(oldest.url);
  }
  index.push({ url, size: body.byteLength });
  await cache.put(
    url,
    new Response(body, { status: 200, headers: response.headers }),
  );
  await cache.put(CDN_INDEX_KEY, new Response(JSON.stringify(index)));
}

async function fromCdn(event) {
  await loaded;
  const { request } = event;
  if (!isCdn(request.url)) {
    return fetch(request);
  }
  const hit = await (await caches.open(CDN_CACHE)).match(request.url);
  if (hit) {
    return hit;
  }
  const response = await fetch(request);
  if (response.ok && response.type !== "opaque") {
    event.waitUntil(
      keepFromCdn(request.url, response.clone()).catch(() => undefined),
    );
  }
  return response;
}

// --- the handlers, registered before JupyterLite's so that they run first ---

self.addEventListener("install", (event) => {
  // JupyterLite's install handler would open its own (empty) "precache"
  // Cache: with our cache switched off, no Cache Storage is used at all.
  // The copy itself starts when a page has loaded (`check`), so that a first
  // visit does not download the site twice at once.
  event.stopImmediatePropagation();
  event.waitUntil(self.skipWaiting());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const { method } = event.request;
  if (isJupyterLiteApi(url) || (method !== "GET" && method !== "HEAD")) {
    return; // JupyterLite's handler (or the network) answers
  }
  if (url.origin !== self.location.origin) {
    if (method === "GET" && url.protocol.startsWith("http")) {
      event.respondWith(fromCdn(event));
      event.stopImmediatePropagation();
    }
    return;
  }
  event.respondWith(fromSite(event));
  event.stopImmediatePropagation();
});

importScripts("./service-worker-jupyterlite.js");
